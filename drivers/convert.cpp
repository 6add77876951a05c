// drivers/convert.cpp - `ktc convert`: a float TFLite, Caffe or Keras model -> an ONNX model that
// passes the onnx checker and goes straight into `ktc optimize`.
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "ktc/convert/caffe.hpp"
#include "ktc/convert/keras.hpp"
#include "ktc/convert/tflite.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/shape_inference.hpp"

namespace ktc::cli {

namespace {

const char* convert_usage =
    "usage: ktc convert --from tflite MODEL.tflite -o OUT.onnx\n"
    "       ktc convert --from caffe NET.prototxt WEIGHTS.caffemodel -o OUT.onnx\n"
    "       ktc convert --from keras MODEL.h5 -o OUT.onnx                      [-q] [--force]\n\n"
    "Converts a float model of another framework to ONNX (opset 17, NCHW): the seed's\n"
    "tflite2onnx, caffe2onnx and keras2onnx. The result is shape-inferred and checked by the onnx\n"
    "checker before it is written (atomically); run `ktc optimize` on it next. Quantized TFLite\n"
    "models and layers ktc does not know are refused with an error naming them (exit code 3).\n"
    "OUT must not be an input unless --force.";

graph::graph read_foreign_model(const std::string& from, const std::vector<std::string>& files) {
    auto expect = [&](std::size_t n, const char* what) {
        if (files.size() != n) throw usage_error("--from " + from + " takes " + what);
    };
    if (from == "tflite") {
        expect(1, "one file: MODEL.tflite");
        return convert::from_tflite(files[0]);
    }
    if (from == "caffe") {
        expect(2, "two files: NET.prototxt WEIGHTS.caffemodel");
        return convert::from_caffe(files[0], files[1]);
    }
    if (from == "keras") {
        expect(1, "one file: MODEL.h5");
        return convert::from_keras(files[0]);
    }
    throw usage_error("--from: '" + from + "' is not one of tflite, caffe, keras");
}

}  // namespace

int run_convert(const args& a) {
    po::options_description options("options");
    std::string from, out_path;
    std::vector<std::string> files;
    // clang-format off
    options.add_options()
        ("from", po::value(&from)->required(), "the source framework: tflite, caffe or keras")
        ("input", po::value(&files)->required(), "the model file(s) (positional)")
        ("output,o", po::value(&out_path)->required(), "where to write the ONNX model")
        ("force", "allow OUT to be an input file")
        ("quiet,q", "print nothing on success");
    // clang-format on
    po::positional_options_description positional;
    positional.add("input", -1);
    po::variables_map vm;
    if (!parse(a, options, vm, convert_usage, &positional)) return 0;

    std::error_code ec;
    for (const auto& f : files)
        if (!vm.count("force") && std::filesystem::exists(out_path, ec) && std::filesystem::equivalent(f, out_path, ec))
            throw usage_error(out_path + ": is an input file; give another -o or --force to overwrite it");

    graph::graph g = read_foreign_model(from, files);
    onnx::infer_shapes(g, files[0]);
    onnx::save(g, out_path);
    if (!vm.count("quiet"))
        std::cout << "ktc convert: " << files[0] << " (" << from << ") -> " << out_path << ": " << g.node_count()
                  << " nodes, " << g.inputs.size() << " input(s), " << g.outputs.size() << " output(s)\n";
    return 0;
}

}  // namespace ktc::cli
