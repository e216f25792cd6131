#include "integration/exasol/codec.hpp"

#include <catch2/catch.hpp>

using namespace exasol::codec;

TEST_CASE("base64 round-trips every padding length", "[codec]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  for (std::string s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("abcd"), std::string("\0\xff\x10", 3)})
    CHECK(base64_decode(base64_encode(s)) == s);
  CHECK_THROWS_AS(base64_decode("abc"), codec_error);
  CHECK_THROWS_AS(base64_decode("a!c="), codec_error);
}

TEST_CASE("sha256 and fingerprint comparison", "[codec]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(fingerprints_equal("ABCdef01", "abcDEF01"));
  CHECK_FALSE(fingerprints_equal("abcdef01", "abcdef02"));
  CHECK_FALSE(fingerprints_equal("abc", "abcd"));
}

TEST_CASE("RSA login encryption round-trips through a PKCS#1 PEM key", "[codec]") {
  auto pair = rsa_key_pair::generate(1024);
  CHECK(pair.public_pem().rfind("-----BEGIN RSA PUBLIC KEY-----", 0) == 0);
  CHECK(pair.exponent_hex() == "010001");
  CHECK(pair.modulus_hex().size() == 256);
  CHECK(rsa_max_plaintext(pair.public_pem()) == 117);

  std::string password = "p\xc3\xa4ss w\xc3\xb6rd \xf0\x9f\x98\x80"; // UTF-8
  std::string cipher = rsa_encrypt_base64(pair.public_pem(), password);
  CHECK(base64_decode(cipher).size() == 128);
  CHECK(pair.decrypt_base64(cipher) == password);
  // Random padding: the same password never encrypts the same way twice.
  CHECK(rsa_encrypt_base64(pair.public_pem(), password) != cipher);

  std::string too_long(118, 'x');
  try {
    rsa_encrypt_base64(pair.public_pem(), too_long);
    FAIL("a 118-byte password must be refused");
  } catch (const codec_error& e) {
    std::string what = e.what();
    CHECK(what.find("117") != std::string::npos);
    CHECK(what.find(too_long) == std::string::npos);
  }
  CHECK_THROWS_AS(rsa_encrypt_base64("not a key", "x"), codec_error);
  CHECK_THROWS_AS(pair.decrypt_base64(base64_encode("garbage")), codec_error);
}

TEST_CASE("zlib framing round-trips and rejects corrupt or oversized streams", "[codec]") {
  std::string text(100000, 'a');
  std::string packed = zlib_compress(text);
  CHECK(packed.size() < text.size() / 10);
  CHECK(static_cast<unsigned char>(packed[0]) == 0x78); // RFC 1950 header
  CHECK(zlib_decompress(packed, text.size()) == text);
  CHECK_THROWS_AS(zlib_decompress(packed, text.size() - 1), codec_error);
  CHECK_THROWS_AS(zlib_decompress(packed.substr(0, packed.size() / 2), 1 << 20), codec_error);
  CHECK_THROWS_AS(zlib_decompress("not zlib at all", 1 << 20), codec_error);
}
