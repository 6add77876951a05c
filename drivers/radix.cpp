// drivers/radix.cpp - `ktc radix`: the input radix of the vendor's get_radix over .npy files.
#include <cmath>
#include <iostream>

#include "cli.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"

namespace ktc::cli {

namespace {
const char* radix_usage =
    "usage: ktc radix FILE.npy ... [--bits 8|16]\n\n"
    "Prints the radix that fits every value of the given (preprocessed) inputs:\n"
    "(bits - 1) - ceil(log2(max|x|)), e.g. 8 for data in [-0.5, 0.5] at 8 bits. Non-finite values\n"
    "are an error: they have no fixed-point form.";
}  // namespace

int run_radix(const args& a) {
    po::options_description options("options");
    std::vector<std::string> files;
    int bits = 8;
    // clang-format off
    options.add_options()
        ("file", po::value(&files)->composing(), ".npy files (positional)")
        ("bits", po::value(&bits)->default_value(8), "8 or 16");
    // clang-format on
    po::positional_options_description positional;
    positional.add("file", -1);
    po::variables_map vm;
    if (!parse(a, options, vm, radix_usage, &positional)) return 0;
    if (files.empty()) throw usage_error("give at least one .npy file");
    if (bits != 8 && bits != 16) throw usage_error("--bits must be 8 or 16");
    double max_abs = 0;
    for (const auto& f : files) {
        const tensor t = npy::load(f);
        const auto v = t.to_vector<double>();
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (!std::isfinite(v[i]))
                throw file_error(f, "element " + std::to_string(i) + " is " + std::to_string(v[i]) +
                                        ": non-finite data has no fixed-point radix");
            max_abs = std::max(max_abs, std::abs(v[i]));
        }
    }
    std::cout << fixed::radix_for(max_abs, bits) << "\n";
    if (max_abs == 0) std::cerr << "ktc radix: warning: every value is zero\n";
    return 0;
}

}  // namespace ktc::cli
