// ktc/core/error.hpp - the error types every layer throws, and the exit code each maps to.
//
// The command line contract (DESIGN.md): 0 success, 2 usage error, 3 model not supported,
// 4 unreadable or corrupt file, 1 anything else. The library never calls exit(); drivers catch
// ktc::error and turn error::code() into the process exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace ktc {

enum class exit_code : int {
    success = 0,
    failure = 1,      // anything not covered below
    usage = 2,        // bad command line or API arguments
    unsupported = 3,  // a valid model that ktc (or the platform) cannot run
    bad_file = 4,     // unreadable, truncated or corrupt input file
};

// Base of every ktc exception: a one-line message naming what is at fault.
class error : public std::runtime_error {
public:
    explicit error(const std::string& message, exit_code code = exit_code::failure)
        : std::runtime_error(message), code_(code) {}
    exit_code code() const noexcept { return code_; }

private:
    exit_code code_;
};

struct usage_error : error {
    explicit usage_error(const std::string& message) : error(message, exit_code::usage) {}
};

struct unsupported_error : error {
    explicit unsupported_error(const std::string& message) : error(message, exit_code::unsupported) {}
};

// A file that cannot be read or whose content is malformed. The message starts with the path.
struct file_error : error {
    file_error(const std::string& path, const std::string& what) : error(path + ": " + what, exit_code::bad_file) {}
};

}  // namespace ktc
