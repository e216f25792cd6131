// A parent project's program: the exapool runtime through <exapool/runtime.hpp>.
#include <exapool/runtime.hpp>

#include <iostream>

int main() {
  exapool::runtime rt;
  rt.shutdown();
  std::cout << "parent: exapool runtime started and shut down\n";
  return 0;
}
