// drivers/compare.cpp - `ktc compare`: how two runs of a model agree, output by output.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <set>

#include "cli.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/quant/accuracy.hpp"

namespace ktc::cli {

namespace {
const char* compare_usage =
    "usage: ktc compare DIR_A DIR_B\n\n"
    "Compares the .npy outputs of two runs (e.g. `ktc infer --onnx` and `ktc infer --bie`), A being\n"
    "the reference: per output file present in both, the SNR of B against A (dB), the largest\n"
    "absolute difference, and how often the argmax over the last axis agrees.";

std::set<std::string> npy_files(const std::filesystem::path& dir) {
    if (!std::filesystem::is_directory(dir)) throw file_error(dir.string(), "not a folder");
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".npy") names.insert(e.path().filename().string());
    return names;
}
}  // namespace

int run_compare(const args& a) {
    po::options_description options("options");
    std::vector<std::string> dirs;
    // clang-format off
    options.add_options()("dir", po::value(&dirs)->composing(), "the two folders (positional)");
    // clang-format on
    po::positional_options_description positional;
    positional.add("dir", 2);
    po::variables_map vm;
    if (!parse(a, options, vm, compare_usage, &positional)) return 0;
    if (dirs.size() != 2) throw usage_error("give two folders: DIR_A DIR_B");
    const auto in_a = npy_files(dirs[0]), in_b = npy_files(dirs[1]);
    std::vector<std::string> both;
    for (const auto& n : in_a)
        if (in_b.count(n)) both.push_back(n);
    if (both.empty())
        throw usage_error("no .npy file is in both folders (" + std::to_string(in_a.size()) + " in " + dirs[0] + ", " +
                          std::to_string(in_b.size()) + " in " + dirs[1] + ")");
    // Every file is read and compared before anything is printed: an error stays the only line.
    std::vector<quant::output_agreement> results;
    for (const auto& n : both)
        results.push_back(quant::compare_outputs(n, npy::load(std::filesystem::path(dirs[0]) / n),
                                                 npy::load(std::filesystem::path(dirs[1]) / n)));
    for (const auto& n : in_a)
        if (!in_b.count(n)) std::cerr << "ktc compare: warning: " << n << " only in " << dirs[0] << "\n";
    for (const auto& n : in_b)
        if (!in_a.count(n)) std::cerr << "ktc compare: warning: " << n << " only in " << dirs[1] << "\n";

    std::cout << std::left << std::setw(32) << "output" << std::right << std::setw(10) << "SNR dB" << std::setw(14)
              << "max |A-B|" << std::setw(18) << "argmax agree"
              << "\n";
    for (std::size_t i = 0; i < both.size(); ++i) {
        const std::string& n = both[i];
        const auto& r = results[i];
        const double snr = r.error.snr_db();
        std::ostringstream snr_text, agree;
        if (std::isinf(snr)) snr_text << (snr > 0 ? "exact" : "-inf");
        else snr_text << std::fixed << std::setprecision(2) << snr;
        agree << r.argmax_equal << "/" << r.samples;
        std::cout << std::left << std::setw(32) << n.substr(0, n.size() - 4) << std::right << std::setw(10)
                  << snr_text.str() << std::setw(14) << std::setprecision(4) << std::defaultfloat
                  << r.error.max_abs_diff << std::setw(18) << agree.str() << "\n";
    }
    return 0;
}

}  // namespace ktc::cli
