// Byte-level building blocks of Exasol's wire protocol that both ends need: base64, the RSA
// PKCS#1 v1.5 password encryption of the login, SHA-256 certificate fingerprints and the zlib
// framing of compressed sessions. Thin wrappers over OpenSSL and zlib; no I/O, no state.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace exasol::codec {

// Thrown for malformed input (bad base64, a key OpenSSL cannot read, a corrupt zlib stream).
struct codec_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string base64_encode(std::string_view bytes);
std::string base64_decode(std::string_view text);

// Lower-case hex of SHA-256 over `bytes`.
std::string sha256_hex(std::string_view bytes);
// Lower-case hex of raw bytes.
std::string to_hex(std::string_view bytes);

// Case-insensitive comparison of two hex fingerprints (drivers print them in either case).
bool fingerprints_equal(std::string_view a, std::string_view b);

// The RSA key pair a server hands out at login: the public half as PKCS#1 PEM
// ("BEGIN RSA PUBLIC KEY") plus hex modulus and exponent, exactly the three login fields.
class rsa_key_pair {
public:
  // Generates a fresh key pair; Exasol uses 1024 bits.
  static rsa_key_pair generate(int bits = 1024);

  const std::string& public_pem() const { return public_pem_; }
  const std::string& modulus_hex() const { return modulus_hex_; }
  const std::string& exponent_hex() const { return exponent_hex_; }

  // Decrypts a base64 RSA PKCS#1 v1.5 ciphertext; throws codec_error when it is not one.
  std::string decrypt_base64(std::string_view ciphertext_b64) const;

private:
  std::shared_ptr<void> key_; // EVP_PKEY, kept opaque so OpenSSL stays out of this header
  std::string public_pem_, modulus_hex_, exponent_hex_;
};

// The largest plaintext, in bytes, that RSA PKCS#1 v1.5 can encrypt under the key in `pem`.
std::size_t rsa_max_plaintext(std::string_view public_pkcs1_pem);

// Encrypts `plaintext` with RSA PKCS#1 v1.5 under a PKCS#1 PEM public key, base64 encoded.
// Throws codec_error when the key cannot be read or the plaintext is too long for it (the
// message names the limit, never the plaintext).
std::string rsa_encrypt_base64(std::string_view public_pkcs1_pem, std::string_view plaintext);

// One complete zlib stream (RFC 1950) of `data`, and its inverse. `max_output` bounds the
// inflated size so a hostile peer cannot make us allocate without limit.
std::string zlib_compress(std::string_view data, int level = 1);
std::string zlib_decompress(std::string_view data, std::size_t max_output);

} // namespace exasol::codec
