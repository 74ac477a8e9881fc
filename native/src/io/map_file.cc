// Memory-maps a checkpoint so bf16/f16 weights kept in their stored dtype are views of the page
// cache, not copies (as safetensors' mmap does for PyTorch): opening a model costs no fresh memory.
// The mapping is private and writable: a write (none is expected) copies that page for this
// process alone and never reaches the file. It is unmapped when its ArrayBuffer is collected.
#include "registry.h"
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gptune {

static void unmap(napi_env, void* data, void* hint) { munmap(data, reinterpret_cast<size_t>(hint)); }

static std::string os_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// mapFile(path): the whole file as an ArrayBuffer over a private mapping (pages fault in on use).
GPTUNE_KERNEL(mapFile) {
  std::string path = args.string(0, "path");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw ArgError(os_error(path + ": cannot open"));
  struct stat st;
  if (fstat(fd, &st) != 0) { close(fd); throw ArgError(os_error(path + ": cannot stat")); }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) { close(fd); throw ArgError(path + ": cannot map an empty file"); }
  void* addr = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);  // the mapping holds its own reference to the file
  if (addr == MAP_FAILED) throw ArgError(os_error(path + ": cannot map"));
  napi_status s = napi_create_external_arraybuffer(args.env(), addr, size, unmap, reinterpret_cast<void*>(size), &result);
  if (s != napi_ok) { munmap(addr, size); throw ArgError(path + ": cannot wrap the mapping in an ArrayBuffer"); }
}

// populateMapped(buffer, offset, length): faults the range in (readable, without copying a page) in
// one call, so reading it later takes no page faults; the per-tensor calls drive load progress.
GPTUNE_KERNEL(populateMapped) {
  void* data = nullptr;
  size_t size = 0;
  if (napi_get_arraybuffer_info(args.env(), args.value(0, "buffer"), &data, &size) != napi_ok) args.fail("buffer", "must be an ArrayBuffer");
  const int64_t offset = args.dim(1, "offset"), length = args.dim(2, "length");
  if (static_cast<size_t>(offset + length) > size) args.fail("length", "runs past the end of the mapping");
  if (length == 0) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + offset) & ~(page - 1);
  const uintptr_t end = reinterpret_cast<uintptr_t>(data) + offset + length;
#ifdef MADV_POPULATE_READ
  if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ) == 0) return;
#endif
  // Kernels before 5.14: touch one byte per page.
  volatile uint8_t sink = 0;
  for (uintptr_t p = begin; p < end; p += page) sink ^= *reinterpret_cast<const uint8_t*>(p);
  (void)sink;
}

}  // namespace gptune
