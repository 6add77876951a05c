// ktc/io/nef.hpp - ktc's .nef file: compiled models for one platform (compiler::nef_file), open and documented
// (docs/formats.md, "The .nef file"). The vendor's .nef inspired the shape (kneron-facts §5); the
// bytes are ktc's own.
//
// Layout, little-endian:
//   magic "KTCNEF\r\n" (8), u32 format version, u32 platform (520 or 720), u32 model count,
//   u32 flags (bit 0: weight blobs compressed), u64 header length (multiple of 16), u64 file length,
//   str toolchain version                                  (str = u32 length + bytes)
//   model table, per model:
//     u32 id, u16 version (the 4 hex digits), u16 reserved (0), str name,
//     u64 DRAM input, output and working area sizes,
//     commands, weights, setup: u64 offset, u64 stored length, u64 raw length each,
//     u32 input count, u32 output count, per tensor: str name, u8 bits, u8 reserved (0),
//       i16 radix, f32 scale, u32 rank, i64 dims[rank], u64 offset in its DRAM area
//   zero padding to the header length
//   the blobs, each at a 16-byte aligned offset, zero-padded to 16 bytes
//   u32 CRC-32 of every byte before it
// The reader checks size, magic, CRC, version, lengths, alignment, that blobs neither overlap nor
// leave the file, the command framing and operand ranges and the setup data before anything uses
// them, and answers a bad file with file_error (exit 4) naming the file and what is wrong.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ktc/compiler/nef.hpp"
#include "ktc/core/atomic_file.hpp"
#include "ktc/core/crc32.hpp"
#include "ktc/core/read_file.hpp"
#include "ktc/io/bytes.hpp"

namespace ktc::io {

using compiler::nef_file;
using compiler::nef_model;
using compiler::nef_tensor;

inline constexpr std::string_view nef_magic{"KTCNEF\r\n", 8};
// Version 2: the setup's graph may carry scales beside the radices (ktc.*_scale) and tensor scales
// other than 1; version 1 files still read.
inline constexpr std::uint32_t nef_version = 2;
inline constexpr std::uint32_t oldest_nef_version = 1;
inline constexpr std::uintmax_t max_nef_bytes = std::uintmax_t{1} << 30;
inline constexpr std::uint32_t nef_flag_compressed = 1;

namespace nef_detail {

KTC_DECL void put_str(std::string& out, std::string_view s);
inline void pad16(std::string& out) { out.append((16 - out.size() % 16) % 16, '\0'); }

// Bounds-checked reading of the header; every failure is a message for file_error.
class cursor {
public:
    cursor(std::string_view bytes, std::size_t at, std::size_t end) : b_(bytes), at_(at), end_(end) {}
    template <class T>
    T get(const char* what) {
        if (end_ - at_ < sizeof(T)) throw std::runtime_error(std::string(what) + " runs past the header");
        const T v = get_at<T>(b_, at_);
        at_ += sizeof(T);
        return v;
    }
    std::string str(const char* what, std::uint32_t limit) {
        const auto n = get<std::uint32_t>(what);
        if (n > limit)
            throw std::runtime_error(std::string(what) + " length " + std::to_string(n) + " exceeds " +
                                     std::to_string(limit));
        if (end_ - at_ < n) throw std::runtime_error(std::string(what) + " runs past the header");
        std::string s(b_.substr(at_, n));
        at_ += n;
        return s;
    }
    std::size_t at() const { return at_; }

private:
    std::string_view b_;
    std::size_t at_, end_;
};

// Lossless weight compression: a token byte t < 128 is followed by t + 1 literal bytes; t >= 128
// stands for t - 126 zero bytes (2 to 129). Int8 weights of pruned or ReLU-heavy models have runs
// of zeros; nothing else is assumed.
KTC_DECL std::string compress(std::string_view raw);

KTC_DECL std::string decompress(std::string_view packed, std::uint64_t raw_length);

}  // namespace nef_detail

KTC_DECL std::string serialize_nef(const nef_file& f);

KTC_DECL nef_file parse_nef(std::string_view bytes, const std::string& source);

inline void save_nef(const nef_file& f, const std::filesystem::path& path) {
    write_file_atomically(path, serialize_nef(f));
}

KTC_DECL nef_file load_nef(const std::filesystem::path& path);

}  // namespace ktc::io

#if KTC_HEADER_ONLY
#include "ktc/io/nef.ipp"
#endif
