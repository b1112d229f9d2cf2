// procsandbox_windows_argv_echo: prints the argv its C runtime made of its
// command line, one argument per line in hex of its UTF-8 bytes (so that
// any byte survives). Run by command_line_test.cc under _WIN32 to check
// BuildCommandLine against the C runtime's parser, not a model of it.
#include <windows.h>

#include <cstdio>
#include <string>

// wmain (linked with -municode): the runtime parses the command line into
// UTF-16 arguments, which the ANSI argv of main() could not carry.
int wmain(int argc, wchar_t** argv) {
  for (int i = 0; i < argc; ++i) {
    const int size = WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, nullptr, 0,
                                         nullptr, nullptr);
    std::string utf8(static_cast<std::size_t>(size), '\0');
    WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, utf8.data(), size, nullptr,
                        nullptr);
    utf8.resize(static_cast<std::size_t>(size) - 1);  // the NUL
    for (unsigned char c : utf8) std::printf("%02x", c);
    std::printf("\n");
  }
  return 0;
}
