// The server certificate: loaded from files, or a self-signed one made at start.
#pragma once

#include <string>

namespace exafront {

struct tls_material {
  std::string certificate_pem, private_key_pem;
  std::string fingerprint; // SHA-256 of the certificate's DER, lower-case hex
};

// A self-signed certificate for CN=localhost with SAN DNS:localhost and IP:127.0.0.1, valid
// from a day ago for a year, on a P-256 key (key generation takes ~1 ms, RSA-2048 ~100 ms).
tls_material make_self_signed_certificate();

// Reads a PEM certificate and key; throws std::runtime_error naming the file that failed.
tls_material load_certificate(const std::string& cert_file, const std::string& key_file);

} // namespace exafront
