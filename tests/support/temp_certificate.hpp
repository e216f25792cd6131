// A self-signed certificate made at test time by the openssl command, for a server's
// certificate and a client's CA file; removed with its directory when the object goes.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <stdlib.h>
#include <string>

namespace exapool::testing {

struct temp_certificate {
  std::string dir, cert, key;
  // `san`: the certificate's subjectAltName, e.g. "DNS:localhost,IP:127.0.0.1".
  explicit temp_certificate(const std::string& san) {
    char pattern[] = "/tmp/exapool-test-cert-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir = pattern;
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=exapool-test"
                      " -addext subjectAltName=" +
                      san + " -keyout " + key + " -out " + cert + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  ~temp_certificate() { std::system(("rm -rf " + dir).c_str()); }
  temp_certificate(const temp_certificate&) = delete;
  temp_certificate& operator=(const temp_certificate&) = delete;
};

} // namespace exapool::testing
