// ktc/core/read_file.hpp - read a whole input file, refusing it before reading when it is larger
// than the reader's limit.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "ktc/core/error.hpp"

namespace ktc {

// `kind` names what the file should be, for the size error ("a .npy input", "an ONNX model").
inline std::string read_whole_file(const std::filesystem::path& path, std::uintmax_t max_bytes,
                                   const std::string& kind) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) throw file_error(path.string(), "cannot read: " + ec.message());
    if (size > max_bytes)
        throw file_error(path.string(), "too large for " + kind + " (" + std::to_string(size) + " bytes, limit " +
                                            std::to_string(max_bytes) + ")");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw file_error(path.string(), "cannot open");
    std::string bytes(size, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(size));
    if (!in) throw file_error(path.string(), "read failed");
    return bytes;
}

}  // namespace ktc
