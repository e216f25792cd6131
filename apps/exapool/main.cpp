// Placeholder until the command line lands (sim, query).
#include <cstdio>
int main() {
  std::puts("exapool: not yet");
  return 1;
}
