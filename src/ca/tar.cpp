#include "ca/tar.hpp"

#include <zlib.h>

#include <cstring>

#include <fmt/format.h>

namespace sanctum::ca {

namespace {

constexpr size_t kBlock = 512;

// Writes `value` as zero-padded octal into a field of `width` bytes,
// leaving the last byte NUL as ustar expects.
void put_octal(char* field, size_t width, unsigned long long value) {
  std::string digits = fmt::format("{:0{}o}", value, width - 1);
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

std::string header_for(const TarMember& member, long long mtime) {
  // Field offsets and sizes follow the ustar header in POSIX.1-2001 (pax).
  std::string header(kBlock, '\0');
  char* h = header.data();
  std::memcpy(h, member.name.data(), member.name.size());
  put_octal(h + 100, 8, member.mode);
  put_octal(h + 108, 8, 0);
  put_octal(h + 116, 8, 0);
  put_octal(h + 124, 12, member.data.size());
  put_octal(h + 136, 12, static_cast<unsigned long long>(mtime));
  h[156] = '0';  // regular file
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 265, "root", 4);
  std::memcpy(h + 297, "root", 4);
  // The checksum is the byte sum of the header with its own field read as
  // eight spaces.
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : header) {
    sum += c;
  }
  std::string checksum = fmt::format("{:06o}", sum);
  std::memcpy(h + 148, checksum.data(), 6);
  h[154] = '\0';
  h[155] = ' ';
  return header;
}

}  // namespace

Result<std::string> make_ustar(const std::vector<TarMember>& members, TimePoint mtime) {
  long long seconds = Clock::to_time_t(mtime);
  std::string archive;
  for (const TarMember& member : members) {
    if (member.name.empty() || member.name.size() > 100) {
      return make_error(fmt::format("tar member name '{}' must be 1 to 100 bytes", member.name));
    }
    archive += header_for(member, seconds);
    archive += member.data;
    archive.append((kBlock - member.data.size() % kBlock) % kBlock, '\0');
  }
  archive.append(2 * kBlock, '\0');
  return archive;
}

Result<std::string> gzip_compress(std::string_view data) {
  z_stream stream{};
  // 15 window bits plus 16 selects the gzip wrapper instead of zlib's.
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return make_error("cannot start gzip compression");
  }
  std::string output(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = static_cast<uInt>(output.size());
  int rc = deflate(&stream, Z_FINISH);
  output.resize(stream.total_out);
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) {
    return make_error(fmt::format("gzip compression failed with zlib code {}", rc));
  }
  return output;
}

}  // namespace sanctum::ca
