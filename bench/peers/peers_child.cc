// The child programs of bench/peers, the same for every peer:
//
//   peers_child write BYTES     writes BYTES zero bytes to stdout, 1 MiB a
//                               write(2), then exits 0
//   peers_child bomb CAP_MIB    allocates and touches 1 MiB at a time until
//                               an allocation fails (exit 3) or CAP_MIB is
//                               reached (exit 0: nothing stopped it); prints
//                               "bomb N MiB" every 8 MiB and at the end
//   peers_child tree N MIB      N processes (itself and N-1 children), each
//                               touching MIB MiB and holding it for 500 ms;
//                               each prints "tree process K held MIB MiB";
//                               the first prints "tree N of N held" at the
//                               end and exits 0 only when all held
//
// C-style on purpose: a small address space, so that `prlimit --as` limits
// what it allocates rather than what libstdc++ maps.
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr long kMiB = 1 << 20;

void Say(const char* text) {
  // One write(2) a line: the line survives a SIGKILL that comes after it.
  const ssize_t ignored = write(1, text, strlen(text));
  (void)ignored;
}

int Write(long long bytes) {
  static char block[kMiB];
  while (bytes > 0) {
    const long n = bytes < kMiB ? static_cast<long>(bytes) : kMiB;
    const ssize_t w = write(1, block, static_cast<size_t>(n));
    if (w < 0) {
      if (errno == EINTR) continue;
      return 1;  // the reader went away (EPIPE), as a bounded reader may
    }
    bytes -= w;
  }
  return 0;
}

// Touches `mib` MiB of fresh memory; false when it cannot be allocated.
bool Touch(long mib) {
  void* p = mmap(nullptr, static_cast<size_t>(mib * kMiB),
                 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  memset(p, 1, static_cast<size_t>(mib * kMiB));
  return true;
}

int Bomb(long cap_mib) {
  char line[64];
  long mib = 0;
  for (; mib < cap_mib; ++mib) {
    if (!Touch(1)) {
      snprintf(line, sizeof line, "bomb %ld MiB: allocation failed\n", mib);
      Say(line);
      return 3;
    }
    if (mib % 8 == 7) {
      snprintf(line, sizeof line, "bomb %ld MiB\n", mib + 1);
      Say(line);
    }
  }
  snprintf(line, sizeof line, "bomb %ld MiB: reached the cap\n", mib);
  Say(line);
  return 0;
}

int Tree(int n, long mib) {
  char line[64];
  for (int k = 1; k < n; ++k) {
    const pid_t pid = fork();
    if (pid < 0) return 4;
    if (pid == 0) {
      if (!Touch(mib)) {
        snprintf(line, sizeof line, "tree process %d: allocation failed\n", k);
        Say(line);
        _exit(3);
      }
      snprintf(line, sizeof line, "tree process %d held %ld MiB\n", k, mib);
      Say(line);
      usleep(500 * 1000);
      _exit(0);
    }
  }
  int held = 0;
  if (Touch(mib)) {
    snprintf(line, sizeof line, "tree process 0 held %ld MiB\n", mib);
    Say(line);
    ++held;
  } else {
    Say("tree process 0: allocation failed\n");
  }
  usleep(500 * 1000);
  for (int status = 0; wait(&status) > 0;) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ++held;
  }
  snprintf(line, sizeof line, "tree %d of %d held\n", held, n);
  Say(line);
  return held == n ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "write") == 0) return Write(atoll(argv[2]));
  if (argc == 3 && strcmp(argv[1], "bomb") == 0) return Bomb(atol(argv[2]));
  if (argc == 4 && strcmp(argv[1], "tree") == 0)
    return Tree(atoi(argv[2]), atol(argv[3]));
  fprintf(stderr,
          "usage: peers_child write BYTES | bomb CAP_MIB | tree N MIB\n");
  return 2;
}
