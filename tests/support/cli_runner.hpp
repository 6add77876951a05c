// tests/support/cli_runner.hpp - run the built `ktc` (KTC_BINARY) and see what it says and returns.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace ktc::testing {

struct cli_result {
    int code;
    std::string output;  // stdout and stderr together
};

inline cli_result ktc_run(const std::string& arguments) {
    const std::string cmd = std::string(KTC_BINARY) + " " + arguments + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    REQUIRE(pipe);
    std::string out;
    char buf[512];
    while (fgets(buf, sizeof buf, pipe)) out += buf;
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A scratch folder unique to this process and tag, removed at the end of the test.
struct temp_dir {
    std::filesystem::path path;
    explicit temp_dir(const std::string& tag = "cli")
        : path(std::filesystem::temp_directory_path() / ("ktc_test_" + tag + "_" + std::to_string(::getpid()))) {
        std::filesystem::create_directories(path);
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name, const std::string& bytes) const {
        std::ofstream(path / name, std::ios::binary) << bytes;
        return (path / name).string();
    }
    std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::size_t line_count(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

}  // namespace ktc::testing
