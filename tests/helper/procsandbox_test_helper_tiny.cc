// procsandbox_test_helper_tiny: exits 0 at once; the cheapest program to
// spawn, for benchmarks that measure the spawn path rather than the program.
//
// With PROCSANDBOX_TINY_START (Linux x86_64, linked -static -nostdlib
// -nostartfiles) it is a single _start calling exit_group(0): no loader, no
// libc initialisation, one page of text. Elsewhere it is a static C-style
// program returning 0.

#if defined(PROCSANDBOX_TINY_START)
asm(R"(
  .text
  .globl _start
  .type _start, @function
_start:
  mov $231, %eax  # __NR_exit_group
  xor %edi, %edi
  syscall
  hlt
)");
#else
int main() { return 0; }
#endif
