// ktc/core/npy.ipp - the definitions behind npy.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/core/npy.hpp"

namespace ktc::npy {
namespace detail {

KTC_DECL const char* descr_of(dtype t) {
    switch (t) {
        case dtype::float32: return "<f4";
        case dtype::float64: return "<f8";
        case dtype::int8: return "|i1";
        case dtype::uint8: return "|u1";
        case dtype::int16: return "<i2";
        case dtype::uint16: return "<u2";
        case dtype::int32: return "<i4";
        case dtype::uint32: return "<u4";
        case dtype::int64: return "<i8";
        case dtype::uint64: return "<u8";
        case dtype::boolean: return "|b1";
    }
    return "";
}

KTC_DECL bool dtype_from_descr(std::string_view d, dtype& out) {
    if (d.size() != 3) return false;
    // '|' (not applicable) and '<' (little endian) are accepted; '=' is native, little on x86.
    if (d[0] != '<' && d[0] != '|' && d[0] != '=') return false;
    const std::string_view code = d.substr(1);
    static constexpr std::pair<std::string_view, dtype> table[] = {
        {"f4", dtype::float32}, {"f8", dtype::float64}, {"i1", dtype::int8},    {"u1", dtype::uint8},
        {"i2", dtype::int16},   {"u2", dtype::uint16},  {"i4", dtype::int32},   {"u4", dtype::uint32},
        {"i8", dtype::int64},   {"u8", dtype::uint64},  {"b1", dtype::boolean},
    };
    for (auto& [c, t] : table)
        if (c == code) {
            out = t;
            return true;
        }
    return false;
}

KTC_DECL std::string_view value_after(std::string_view header, std::string_view key) {
    const std::string quoted = "'" + std::string(key) + "'";
    auto at = header.find(quoted);
    if (at == std::string_view::npos) return {};
    at = header.find(':', at + quoted.size());
    if (at == std::string_view::npos) return {};
    at = header.find_first_not_of(' ', at + 1);
    return at == std::string_view::npos ? std::string_view{} : header.substr(at);
}

}  // namespace detail
KTC_DECL tensor parse(std::string_view bytes, const std::string& name) {
    auto bad = [&](const std::string& what) { return file_error(name, "not a valid .npy: " + what); };
    if (bytes.size() < 10 || bytes.substr(0, 6) != "\x93NUMPY") throw bad("missing \\x93NUMPY magic");
    const int major = static_cast<unsigned char>(bytes[6]);
    std::size_t header_len = 0, header_start = 0;
    if (major == 1) {
        header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
        header_start = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw bad("truncated header");
        std::uint32_t len = 0;
        std::memcpy(&len, bytes.data() + 8, 4);
        header_len = len;
        header_start = 12;
    } else {
        throw bad("unsupported format version " + std::to_string(major));
    }
    if (header_start + header_len > bytes.size()) throw bad("truncated header");
    const std::string_view header = bytes.substr(header_start, header_len);

    // descr
    auto descr = detail::value_after(header, "descr");
    if (descr.size() < 2 || descr[0] != '\'') throw bad("header has no 'descr'");
    const auto descr_end = descr.find('\'', 1);
    if (descr_end == std::string_view::npos) throw bad("unterminated 'descr'");
    dtype type{};
    if (!detail::dtype_from_descr(descr.substr(1, descr_end - 1), type))
        throw bad("unsupported dtype '" + std::string(descr.substr(1, descr_end - 1)) +
                  "' (little-endian numeric or bool only)");
    // fortran_order
    auto fortran = detail::value_after(header, "fortran_order");
    if (fortran.starts_with("True")) throw bad("fortran_order arrays are not supported");
    if (!fortran.starts_with("False")) throw bad("header has no 'fortran_order'");
    // shape
    auto shape_text = detail::value_after(header, "shape");
    if (shape_text.empty() || shape_text[0] != '(') throw bad("header has no 'shape'");
    const auto close = shape_text.find(')');
    if (close == std::string_view::npos) throw bad("unterminated 'shape'");
    shape_t shape;
    std::string_view dims = shape_text.substr(1, close - 1);
    while (!dims.empty()) {
        const auto start = dims.find_first_of("0123456789");
        if (start == std::string_view::npos) break;
        if (dims.substr(0, start).find('-') != std::string_view::npos) throw bad("negative dimension");
        std::size_t end = start;
        std::int64_t d = 0;
        while (end < dims.size() && dims[end] >= '0' && dims[end] <= '9') {
            if (d > max_tensor_elements) throw bad("dimension too large");
            d = d * 10 + (dims[end] - '0');
            ++end;
        }
        shape.push_back(d);
        dims.remove_prefix(end);
    }
    std::int64_t count = 0;
    try {
        count = element_count(shape);
    } catch (const error& e) {
        throw bad(std::string("shape ") + to_string(shape) + ": " + e.what());
    }
    const std::size_t data_start = header_start + header_len;
    const std::size_t need = static_cast<std::size_t>(count) * size_of(type);
    if (bytes.size() - data_start < need)
        throw bad("data truncated: shape " + to_string(shape) + " needs " + std::to_string(need) + " bytes, file has " +
                  std::to_string(bytes.size() - data_start));
    // numpy writes nothing after the data: extra bytes mean a damaged header length or shape.
    if (bytes.size() - data_start > need)
        throw bad(std::to_string(bytes.size() - data_start - need) + " bytes after the data of shape " +
                  to_string(shape));
    tensor t(type, shape);
    if (need) std::memcpy(t.raw(), bytes.data() + data_start, need);
    if (type == dtype::boolean)  // any nonzero byte is true; normalize so bool reads stay defined
        for (auto& b : std::span<std::byte>(t.raw(), need)) b = b != std::byte{0} ? std::byte{1} : std::byte{0};
    return t;
}

KTC_DECL tensor load(const std::filesystem::path& path) {
    return parse(read_whole_file(path, max_file_bytes, "a .npy input"), path.string());
}

KTC_DECL std::string serialize(const tensor& t) {
    std::string header =
        "{'descr': '" + std::string(detail::descr_of(t.type())) + "', 'fortran_order': False, 'shape': (";
    for (std::size_t i = 0; i < t.shape().size(); ++i) header += (i ? ", " : "") + std::to_string(t.shape()[i]);
    header += t.rank() == 1 ? ",)" : ")";
    header += ", }";
    const std::size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    out += header;
    out.append(reinterpret_cast<const char*>(t.raw()), t.byte_size());
    return out;
}

KTC_DECL void save(const std::filesystem::path& path, const tensor& t) { write_file_atomically(path, serialize(t)); }

}  // namespace ktc::npy
