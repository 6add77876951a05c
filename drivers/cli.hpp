// drivers/cli.hpp - what every verb shares: argument parsing conventions, errors to exit codes,
// progress on a terminal.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

#include "ktc/core/error.hpp"

namespace ktc::cli {

namespace po = boost::program_options;

using args = std::vector<std::string>;

struct verb {
    const char* name;
    const char* summary;
    int (*run)(const args&);
};

// Parses `a` against `options` (plus --help). Returns false when help was printed.
inline bool parse(const args& a, const po::options_description& options, po::variables_map& vm,
                  const std::string& usage, const po::positional_options_description* positional = nullptr) {
    // Boost 1.74 loops forever formatting an error about an argument that holds one of its own
    // message placeholders: refuse those arguments before the parser sees them.
    for (const auto& arg : a)
        for (const char* placeholder : {"%canonical_option%", "%original_token%", "%option%", "%prefix%", "%value%"})
            if (arg.find(placeholder) != std::string::npos)
                throw usage_error("argument '" + arg + "' contains '" + placeholder + "', which ktc does not accept");
    po::options_description all(options);
    // clang-format off
    all.add_options()("help,h", "show this help");
    // clang-format on
    try {
        auto parser = po::command_line_parser(a).options(all);
        if (positional) parser.positional(*positional);
        po::store(parser.run(), vm);
        if (vm.count("help")) {
            std::cout << usage << "\n\n" << all << "\n";
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw usage_error(e.what());
    }
    return true;
}

// The value of --threads: 0 (every core) or a count. Options read it signed: boost reads "-1"
// into an unsigned as 4294967295.
inline unsigned thread_count(std::int64_t n) {
    if (n < 0 || n > 1024)
        throw usage_error("--threads " + std::to_string(n) + ": expected 0 (every core) or a count up to 1024");
    return static_cast<unsigned>(n);
}

// Shows "label done/total" on stderr when it is a terminal and not --quiet.
class progress {
public:
    progress(std::string label, bool quiet) : label_(std::move(label)), on_(!quiet && ::isatty(2)) {}
    void operator()(std::int64_t done, std::int64_t total) const {
        if (!on_ || total < 2) return;
        std::cerr << "\r" << label_ << " " << done << "/" << total << (done == total ? "\n" : "") << std::flush;
    }

private:
    std::string label_;
    bool on_;
};

// Creates an output folder (and parents); an existing file in the way is an error.
inline void ensure_directory(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw error(dir.string() + ": cannot create output folder" + (ec ? ": " + ec.message() : ""));
}

}  // namespace ktc::cli
