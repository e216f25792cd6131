#include "integration/exasol/codec.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace exasol::codec {
namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

std::string bn_param_hex(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
    throw codec_error("RSA key has no parameter " + std::string(name));
  char* hex = BN_bn2hex(bn);
  std::string out(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string encode_public_pkcs1_pem(EVP_PKEY* key) {
  // "type-specific" is the PKCS#1 RSAPublicKey structure ("BEGIN RSA PUBLIC KEY").
  OSSL_ENCODER_CTX* ctx =
      OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_PUBLIC_KEY, "PEM", "type-specific", nullptr);
  unsigned char* data = nullptr;
  size_t len = 0;
  bool ok = ctx != nullptr && OSSL_ENCODER_to_data(ctx, &data, &len) == 1;
  OSSL_ENCODER_CTX_free(ctx);
  if (!ok)
    throw codec_error("cannot encode RSA public key as PKCS#1 PEM");
  std::string pem(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  return pem;
}

pkey_ptr decode_public_pkcs1_pem(std::string_view pem) {
  EVP_PKEY* key = nullptr;
  OSSL_DECODER_CTX* ctx = OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", nullptr, "RSA",
                                                        EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
  auto data = reinterpret_cast<const unsigned char*>(pem.data());
  size_t len = pem.size();
  bool ok = ctx != nullptr && OSSL_DECODER_from_data(ctx, &data, &len) == 1;
  OSSL_DECODER_CTX_free(ctx);
  if (!ok || key == nullptr)
    throw codec_error("server sent an RSA public key that is not a PKCS#1 PEM key");
  return pkey_ptr(key, EVP_PKEY_free);
}

} // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    throw codec_error("base64 text length is not a multiple of 4");
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    throw codec_error("invalid base64 text");
  // EVP_DecodeBlock counts the '=' padding as zero bytes; drop them.
  std::size_t pad = 0;
  for (auto it = text.rbegin(); it != text.rend() && *it == '=' && pad < 2; ++it)
    ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0f]);
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw codec_error("SHA-256 failed");
  return to_hex(std::string_view(reinterpret_cast<char*>(md), len));
}

bool fingerprints_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

rsa_key_pair rsa_key_pair::generate(int bits) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  if (raw == nullptr)
    throw codec_error("RSA key generation failed");
  rsa_key_pair pair;
  pair.key_ = std::shared_ptr<void>(raw, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  pair.public_pem_ = encode_public_pkcs1_pem(raw);
  pair.modulus_hex_ = bn_param_hex(raw, OSSL_PKEY_PARAM_RSA_N);
  pair.exponent_hex_ = bn_param_hex(raw, OSSL_PKEY_PARAM_RSA_E);
  return pair;
}

std::string rsa_key_pair::decrypt_base64(std::string_view ciphertext_b64) const {
  std::string cipher = base64_decode(ciphertext_b64);
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new(static_cast<EVP_PKEY*>(key_.get()), nullptr),
                   EVP_PKEY_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_decrypt(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(cipher.data()), cipher.size()) != 1)
    throw codec_error("cannot decrypt password: not an RSA PKCS#1 v1.5 ciphertext");
  std::string plain(len, '\0');
  if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                       reinterpret_cast<const unsigned char*>(cipher.data()), cipher.size()) != 1)
    throw codec_error("cannot decrypt password: not an RSA PKCS#1 v1.5 ciphertext");
  plain.resize(len);
  return plain;
}

std::size_t rsa_max_plaintext(std::string_view public_pkcs1_pem) {
  pkey_ptr key = decode_public_pkcs1_pem(public_pkcs1_pem);
  // PKCS#1 v1.5 padding takes at least 11 bytes of the modulus.
  return static_cast<std::size_t>(EVP_PKEY_get_size(key.get())) - 11;
}

std::string rsa_encrypt_base64(std::string_view public_pkcs1_pem, std::string_view plaintext) {
  pkey_ptr key = decode_public_pkcs1_pem(public_pkcs1_pem);
  std::size_t limit = static_cast<std::size_t>(EVP_PKEY_get_size(key.get())) - 11;
  if (plaintext.size() > limit)
    throw codec_error("password is " + std::to_string(plaintext.size()) +
                      " bytes in UTF-8; the server's RSA key allows at most " +
                      std::to_string(limit));
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
  size_t len = 0;
  auto in = reinterpret_cast<const unsigned char*>(plaintext.data());
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &len, in, plaintext.size()) != 1)
    throw codec_error("RSA encryption failed");
  std::string cipher(len, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(cipher.data()), &len, in,
                       plaintext.size()) != 1)
    throw codec_error("RSA encryption failed");
  cipher.resize(len);
  return base64_encode(cipher);
}

std::string zlib_compress(std::string_view data, int level) {
  uLongf len = compressBound(static_cast<uLong>(data.size()));
  std::string out(len, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &len,
                     reinterpret_cast<const Bytef*>(data.data()), static_cast<uLong>(data.size()),
                     level);
  if (rc != Z_OK)
    throw codec_error("zlib compression failed");
  out.resize(len);
  return out;
}

std::string zlib_decompress(std::string_view data, std::size_t max_output) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK)
    throw codec_error("zlib inflateInit failed");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  std::vector<char> chunk(64 * 1024);
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END)
      throw codec_error("corrupt zlib stream");
    out.append(chunk.data(), chunk.size() - zs.avail_out);
    if (out.size() > max_output)
      throw codec_error("decompressed message exceeds " + std::to_string(max_output) + " bytes");
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)
      throw codec_error("truncated zlib stream");
  }
  return out;
}

} // namespace exasol::codec
