// A preload library that counts heap allocations and socket calls of the
// process it is loaded into:
//
//   SANCTUM_COUNT_FILE=/tmp/counts LD_PRELOAD=libsanctum-malloc-count.so sanctum serve ...
//   kill -USR2 PID    # appends one line of totals to /tmp/counts
//
// Each line contains the totals since the process started, as name=value
// pairs, so the difference of two lines is what happened between the two
// signals. Every function forwards to the next definition in the process
// (found with dlsym(RTLD_NEXT)): for allocations that is the allocator the
// process links, jemalloc for sanctum or else glibc's, and for the socket
// functions libc. The process behaves as without the library, only slower
// by an atomic increment per call.

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <cstring>
#include <new>

namespace {

enum Counter : int {
  kMalloc,
  kCalloc,
  kRealloc,
  kAligned,
  kFree,
  kRead,
  kReadv,
  kRecv,
  kRecvfrom,
  kRecvmsg,
  kWrite,
  kWritev,
  kSend,
  kSendto,
  kSendmsg,
  kEpollWait,
  kEpollCtl,
  kCount
};

constexpr const char* kNames[kCount] = {
    "malloc", "calloc", "realloc", "aligned", "free",    "read",    "readv",   "recv",
    "recvfrom", "recvmsg", "write", "writev", "send", "sendto", "sendmsg", "epoll_wait",
    "epoll_ctl"};

std::atomic<std::uint64_t> counters[kCount];

void count(Counter counter) { counters[counter].fetch_add(1, std::memory_order_relaxed); }

// Looks up the definition that this library hides: libc's, or for the
// allocation functions the allocator the process links (jemalloc for
// sanctum), so the counted calls reach the allocator they would have reached.
template <class Function>
Function next(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

// The allocation functions found by next(). dlsym() itself may allocate
// while they are being looked up; those few blocks come from a static area
// and are never freed.
struct Allocator {
  void* (*malloc)(std::size_t) = nullptr;
  void* (*calloc)(std::size_t, std::size_t) = nullptr;
  void* (*realloc)(void*, std::size_t) = nullptr;
  void (*free)(void*) = nullptr;
  void* (*aligned_alloc)(std::size_t, std::size_t) = nullptr;
  int (*posix_memalign)(void**, std::size_t, std::size_t) = nullptr;
};
Allocator real;
std::atomic<bool> resolving{false};
alignas(64) unsigned char early_area[64 * 1024];
std::atomic<std::size_t> early_used{0};

bool is_early(const void* pointer) {
  auto* p = static_cast<const unsigned char*>(pointer);
  return p >= early_area && p < early_area + sizeof early_area;
}

void* early_alloc(std::size_t size) {
  std::size_t rounded = (size + 63) & ~std::size_t{63};
  std::size_t at = early_used.fetch_add(rounded);
  if (at + rounded > sizeof early_area) {
    return nullptr;
  }
  return early_area + at;
}

// Looks the allocator up once; false while the lookup itself runs.
bool resolved() {
  if (real.free != nullptr) {
    return true;
  }
  if (resolving.exchange(true)) {
    return false;
  }
  Allocator found;
  found.malloc = next<decltype(found.malloc)>("malloc");
  found.calloc = next<decltype(found.calloc)>("calloc");
  found.realloc = next<decltype(found.realloc)>("realloc");
  found.aligned_alloc = next<decltype(found.aligned_alloc)>("aligned_alloc");
  found.posix_memalign = next<decltype(found.posix_memalign)>("posix_memalign");
  found.free = next<decltype(found.free)>("free");
  real = found;
  return true;
}

// Appends `value` in decimal to `out` without any allocation, because this
// runs in a signal handler.
char* append_number(char* out, std::uint64_t value) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) {
    *out++ = digits[--n];
  }
  return out;
}

char* append_text(char* out, const char* text) {
  while (*text != '\0') {
    *out++ = *text++;
  }
  return out;
}

char count_file[4096];

// Writes one line of totals with raw system calls: only async-signal-safe
// calls, and none that this library counts.
void dump_counters(int) {
  int saved_errno = errno;
  if (count_file[0] == '\0') {
    return;
  }
  char line[kCount * 48];
  char* out = line;
  for (int i = 0; i < kCount; ++i) {
    out = append_text(out, i == 0 ? "" : " ");
    out = append_text(out, kNames[i]);
    out = append_text(out, "=");
    out = append_number(out, counters[i].load(std::memory_order_relaxed));
  }
  *out++ = '\n';
  long fd = ::syscall(SYS_openat, AT_FDCWD, count_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                      0644);
  if (fd >= 0) {
    ::syscall(SYS_write, fd, line, out - line);
    ::syscall(SYS_close, fd);
  }
  errno = saved_errno;
}

__attribute__((constructor)) void install_dump_handler() {
  const char* path = std::getenv("SANCTUM_COUNT_FILE");
  if (path == nullptr) {
    return;
  }
  std::size_t i = 0;
  for (; path[i] != '\0' && i + 1 < sizeof count_file; ++i) {
    count_file[i] = path[i];
  }
  count_file[i] = '\0';
  struct sigaction action {};
  action.sa_handler = dump_counters;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR2, &action, nullptr);
}

}  // namespace

extern "C" {

void* malloc(std::size_t size) {
  if (!resolved()) {
    return early_alloc(size);
  }
  count(kMalloc);
  return real.malloc(size);
}

void* calloc(std::size_t n, std::size_t size) {
  if (!resolved()) {
    return early_alloc(n * size);  // the static area starts zeroed
  }
  count(kCalloc);
  return real.calloc(n, size);
}

void* realloc(void* pointer, std::size_t size) {
  if (is_early(pointer)) {
    void* moved = malloc(size);
    if (moved != nullptr) {
      std::size_t room = static_cast<std::size_t>(early_area + sizeof early_area -
                                                  static_cast<unsigned char*>(pointer));
      std::memcpy(moved, pointer, size < room ? size : room);
    }
    return moved;
  }
  if (!resolved()) {
    return early_alloc(size);
  }
  count(kRealloc);
  return real.realloc(pointer, size);
}

void free(void* pointer) {
  if (pointer == nullptr || is_early(pointer)) {
    return;
  }
  if (!resolved()) {
    return;
  }
  count(kFree);
  real.free(pointer);
}

void* memalign(std::size_t alignment, std::size_t size) {
  if (!resolved()) {
    return nullptr;
  }
  count(kAligned);
  void* pointer = nullptr;
  if (alignment < sizeof(void*)) {
    alignment = sizeof(void*);
  }
  return real.posix_memalign(&pointer, alignment, size) == 0 ? pointer : nullptr;
}

void* aligned_alloc(std::size_t alignment, std::size_t size) {
  if (!resolved()) {
    return nullptr;
  }
  count(kAligned);
  return real.aligned_alloc(alignment, size);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  if (!resolved()) {
    return ENOMEM;
  }
  count(kAligned);
  return real.posix_memalign(out, alignment, size);
}

ssize_t read(int fd, void* buffer, std::size_t size) {
  static auto real = next<ssize_t (*)(int, void*, std::size_t)>("read");
  count(kRead);
  return real(fd, buffer, size);
}

ssize_t readv(int fd, const struct iovec* iov, int n) {
  static auto real = next<ssize_t (*)(int, const struct iovec*, int)>("readv");
  count(kReadv);
  return real(fd, iov, n);
}

ssize_t recv(int fd, void* buffer, std::size_t size, int flags) {
  static auto real = next<ssize_t (*)(int, void*, std::size_t, int)>("recv");
  count(kRecv);
  return real(fd, buffer, size, flags);
}

ssize_t recvfrom(int fd, void* buffer, std::size_t size, int flags, struct sockaddr* from,
                 socklen_t* length) {
  static auto real =
      next<ssize_t (*)(int, void*, std::size_t, int, struct sockaddr*, socklen_t*)>("recvfrom");
  count(kRecvfrom);
  return real(fd, buffer, size, flags, from, length);
}

ssize_t recvmsg(int fd, struct msghdr* message, int flags) {
  static auto real = next<ssize_t (*)(int, struct msghdr*, int)>("recvmsg");
  count(kRecvmsg);
  return real(fd, message, flags);
}

ssize_t write(int fd, const void* buffer, std::size_t size) {
  static auto real = next<ssize_t (*)(int, const void*, std::size_t)>("write");
  count(kWrite);
  return real(fd, buffer, size);
}

ssize_t writev(int fd, const struct iovec* iov, int n) {
  static auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  count(kWritev);
  return real(fd, iov, n);
}

ssize_t send(int fd, const void* buffer, std::size_t size, int flags) {
  static auto real = next<ssize_t (*)(int, const void*, std::size_t, int)>("send");
  count(kSend);
  return real(fd, buffer, size, flags);
}

ssize_t sendto(int fd, const void* buffer, std::size_t size, int flags, const struct sockaddr* to,
               socklen_t length) {
  static auto real =
      next<ssize_t (*)(int, const void*, std::size_t, int, const struct sockaddr*, socklen_t)>(
          "sendto");
  count(kSendto);
  return real(fd, buffer, size, flags, to, length);
}

ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
  static auto real = next<ssize_t (*)(int, const struct msghdr*, int)>("sendmsg");
  count(kSendmsg);
  return real(fd, message, flags);
}

int epoll_wait(int epfd, struct epoll_event* events, int max, int timeout) {
  static auto real = next<int (*)(int, struct epoll_event*, int, int)>("epoll_wait");
  count(kEpollWait);
  return real(epfd, events, max, timeout);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
  static auto real = next<int (*)(int, int, int, struct epoll_event*)>("epoll_ctl");
  count(kEpollCtl);
  return real(epfd, op, fd, event);
}

}  // extern "C"

// C++ allocations. jemalloc, which sanctum links, defines its own operator
// new and delete, which would bypass the counted malloc() and free(). These
// definitions come first, so every C++ allocation is counted as a malloc()
// or an aligned allocation and reaches the process's allocator through them.
void* operator new(std::size_t size) {
  void* pointer = malloc(size == 0 ? 1 : size);
  if (pointer == nullptr) {
    throw std::bad_alloc();
  }
  return pointer;
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return malloc(size == 0 ? 1 : size);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
  void* pointer = nullptr;
  if (posix_memalign(&pointer, static_cast<std::size_t>(alignment), size == 0 ? 1 : size) != 0) {
    throw std::bad_alloc();
  }
  return pointer;
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return operator new(size, alignment);
}
void operator delete(void* pointer) noexcept { free(pointer); }
void operator delete[](void* pointer) noexcept { free(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { free(pointer); }
void operator delete[](void* pointer, std::size_t) noexcept { free(pointer); }
void operator delete(void* pointer, std::align_val_t) noexcept { free(pointer); }
void operator delete[](void* pointer, std::align_val_t) noexcept { free(pointer); }
void operator delete(void* pointer, std::size_t, std::align_val_t) noexcept { free(pointer); }
void operator delete[](void* pointer, std::size_t, std::align_val_t) noexcept { free(pointer); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { free(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { free(pointer); }
