// ktc/core/atomic_file.hpp - write a whole file or nothing: a temporary beside it, then rename.
#pragma once

#include <filesystem>
#include <fstream>
#include <string_view>
#include <unistd.h>

#include "ktc/core/error.hpp"

namespace ktc {

// Writes `bytes` to `path` so that readers see either the old file or the complete new one, never
// a partial write: an error or a kill leaves at most a stray temporary, never a half output.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    const auto tmp = path.string() + ".ktc-tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw error(path.string() + ": cannot write (cannot create " + tmp + ")");
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out) {
            out.close();
            std::filesystem::remove(tmp);
            throw error(path.string() + ": write failed (disk full?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp);
        throw error(path.string() + ": cannot write: " + ec.message());
    }
}

}  // namespace ktc
