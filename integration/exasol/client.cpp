// Filled by the client implementation.
