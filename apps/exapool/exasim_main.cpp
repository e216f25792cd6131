// `exasim`: the same as `exapool sim`.
#include "apps/exapool/command.hpp"

int main(int argc, char** argv) {
  return exapool::cli::run_sim(argc, argv);
}
