// A main() for the fuzz targets in builds without libFuzzer (GCC, the dev
// preset): runs LLVMFuzzerTestOneInput once on each file given, or on each
// file of each directory given, so that ctest replays the seed corpora.
// A failed property aborts; exit status 1 when a path cannot be read.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

namespace {

bool RunFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                         bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int files = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::string path = argv[i];
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      std::fprintf(stderr, "replay: no such file or directory %s\n",
                   path.c_str());
      ok = false;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      ok = RunFile(path) && ok;
      ++files;
      continue;
    }
    std::vector<std::string> names;
    if (DIR* dir = opendir(path.c_str())) {
      while (const dirent* entry = readdir(dir)) {
        const std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(name);
      }
      closedir(dir);
    }
    std::sort(names.begin(), names.end());  // the same order every run
    for (const std::string& name : names) {
      ok = RunFile(path + "/" + name) && ok;
      ++files;
    }
  }
  std::printf("replay: %d inputs\n", files);
  if (files == 0) {
    std::fprintf(stderr, "replay: no inputs\n");
    return 1;
  }
  return ok ? 0 : 1;
}
