// A preload library that counts heap allocations and socket calls of the
// process it is loaded into:
//
//   SANCTUM_COUNT_FILE=/tmp/counts LD_PRELOAD=libsanctum-malloc-count.so sanctum serve ...
//   kill -USR2 PID    # appends one line of totals to /tmp/counts
//
// Each line contains the totals since the process started, as name=value
// pairs, so the difference of two lines is what happened between the two
// signals. The allocation functions forward to glibc's __libc_* entry
// points and the socket functions to the next definition (libc), so the
// process behaves as without the library, only slower by an atomic
// increment per call.

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

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void __libc_free(void* pointer);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

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

// Looks up the libc definition that this library hides.
template <class Function>
Function next(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
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
  count(kMalloc);
  return __libc_malloc(size);
}

void* calloc(std::size_t n, std::size_t size) {
  count(kCalloc);
  return __libc_calloc(n, size);
}

void* realloc(void* pointer, std::size_t size) {
  count(kRealloc);
  return __libc_realloc(pointer, size);
}

void free(void* pointer) {
  if (pointer != nullptr) {
    count(kFree);
  }
  __libc_free(pointer);
}

void* memalign(std::size_t alignment, std::size_t size) {
  count(kAligned);
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count(kAligned);
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  count(kAligned);
  void* pointer = __libc_memalign(alignment, size);
  if (pointer == nullptr) {
    return ENOMEM;
  }
  *out = pointer;
  return 0;
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
