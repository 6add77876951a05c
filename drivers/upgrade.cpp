// drivers/upgrade.cpp - `ktc upgrade`: the vendor's onnx1_4to1_6, opset < 11 -> opset 11, IR 6.
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "ktc/onnx/upgrade.hpp"

namespace ktc::cli {

namespace {

const char* upgrade_usage =
    "usage: ktc upgrade IN.onnx -o OUT.onnx [--force] [-q]\n\n"
    "Upgrades a model of opset 7 to 10 to opset 11, IR version 6 (the vendor's onnx1_4to1_6):\n"
    "Clip min/max, Slice starts/ends/axes and Pad pads/value attributes become inputs, Upsample\n"
    "and Resize-10 become Resize (coordinate_transformation_mode asymmetric), and every other op\n"
    "is written in its opset-11 form. The result passes the onnx checker and strict shape\n"
    "inference before it is written (atomically). A model already at opset 11 or later is copied\n"
    "unchanged, byte for byte. OUT must not be IN unless --force.";

}  // namespace

int run_upgrade(const args& a) {
    po::options_description options("options");
    std::string in_path, out_path;
    // clang-format off
    options.add_options()
        ("input", po::value(&in_path)->required(), "the ONNX model to upgrade (positional)")
        ("output,o", po::value(&out_path)->required(), "where to write the opset-11 model")
        ("force", "allow OUT to be IN (overwrite the input model)")
        ("quiet,q", "print nothing on success");
    // clang-format on
    po::positional_options_description positional;
    positional.add("input", 1);
    po::variables_map vm;
    if (!parse(a, options, vm, upgrade_usage, &positional)) return 0;

    std::error_code ec;
    if (!vm.count("force") && std::filesystem::exists(out_path, ec) &&
        std::filesystem::equivalent(in_path, out_path, ec))
        throw usage_error(out_path + ": is the input model; give another -o or --force to overwrite it");

    const onnx::upgrade_result r = onnx::upgrade_file(in_path, out_path);
    if (vm.count("quiet")) return 0;
    if (r.changed)
        std::cout << "ktc upgrade: " << in_path << " (opset " << r.from_opset << ") -> " << out_path << " (opset "
                  << r.to_opset << ", IR " << onnx::opset11_ir_version << ")\n";
    else
        std::cout << "ktc upgrade: " << in_path << " is already at opset " << r.from_opset << "; "
                  << (std::filesystem::equivalent(in_path, out_path, ec) ? "left as it is"
                                                                         : "copied unchanged to " + out_path)
                  << "\n";
    return 0;
}

}  // namespace ktc::cli
