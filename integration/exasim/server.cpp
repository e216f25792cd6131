// Filled by the exasim implementation.
