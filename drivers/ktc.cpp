// drivers/ktc.cpp - the `ktc <verb>` front: dispatch, and every error turned into its exit code.
#include <cstring>
#include <iostream>

#include "cli.hpp"
#include "ktc/kernels/isa.hpp"

namespace ktc::cli {
int run_infer(const args&);
int run_analysis(const args&);
int run_radix(const args&);
int run_compare(const args&);
int run_upgrade(const args&);
int run_edit(const args&);
int run_optimize(const args&);
int run_evaluate(const args&);
int run_compile(const args&);
int run_nef_info(const args&);
int run_combine_nef(const args&);
int run_convert(const args&);
int run_flow(const args&);
}  // namespace ktc::cli

namespace {

using ktc::cli::verb;

const verb verbs[] = {
    {"convert", "float TFLite, Caffe or Keras model -> ONNX (tflite2onnx, caffe2onnx, keras2onnx)",
     &ktc::cli::run_convert},
    {"optimize", "run the optimizer flow (onnx2onnx / torch) with its options", &ktc::cli::run_optimize},
    {"infer", "run a model on .npy inputs (--onnx float, --bie fixed point, --nef compiled)", &ktc::cli::run_infer},
    {"upgrade", "opset < 11 model -> opset 11, IR 6 (the vendor's onnx1_4to1_6)", &ktc::cli::run_upgrade},
    {"edit", "delete/cut nodes, change shapes, add identity conv/BN, rename outputs", &ktc::cli::run_edit},
    {"analysis", "calibrate and quantize a model for a chip, write the .bie", &ktc::cli::run_analysis},
    {"radix", "print the input radix of .npy files (get_radix)", &ktc::cli::run_radix},
    {"compare", "compare two folders of outputs: SNR, max difference, argmax", &ktc::cli::run_compare},
    {"evaluate", "check a model against a chip and estimate its performance", &ktc::cli::run_evaluate},
    {"compile", "compile quantized models (.bie) for a chip into one .nef", &ktc::cli::run_compile},
    {"nef-info", "list the models, tensors and commands of a .nef", &ktc::cli::run_nef_info},
    {"combine-nef", "merge .nef files of one chip into models_<platform>.nef", &ktc::cli::run_combine_nef},
    {"flow", "the whole workflow in one go: optimize ... compile, simulate each step, compare", &ktc::cli::run_flow},
};

void print_help(std::ostream& out) {
    out << "ktc - an open toolchain for the Kneron KDP520 and KDP720 NPUs\n\n"
           "usage: ktc <verb> [options]      ktc <verb> --help for the verb's options\n\nverbs:\n";
    for (const auto& v : verbs)
        out << "  " << v.name << std::string(12 - std::strlen(v.name), ' ') << v.summary << "\n";
    out << "\nexit codes: 0 success, 1 other failure, 2 usage error, 3 model not supported,\n"
           "            4 unreadable or corrupt file\n";
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_help(std::cerr);
        return static_cast<int>(ktc::exit_code::usage);
    }
    const std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        print_help(std::cout);
        return 0;
    }
    if (name == "--version") {
        // Which copy of the kernels this CPU runs (docs/design.md, "Instruction sets").
        std::cout << "ktc " KTC_VERSION " (kernels: " << ktc::kernels::isa::running() << ")\n";
        return 0;
    }
    for (const auto& v : verbs) {
        if (name != v.name) continue;
        try {
            return v.run(ktc::cli::args(argv + 2, argv + argc));
        } catch (const ktc::error& e) {
            std::cerr << "ktc " << name << ": error: " << e.what() << "\n";
            return static_cast<int>(e.code());
        } catch (const std::bad_alloc&) {
            std::cerr << "ktc " << name << ": error: out of memory\n";
            return static_cast<int>(ktc::exit_code::failure);
        } catch (const std::exception& e) {
            std::cerr << "ktc " << name << ": error: " << e.what() << "\n";
            return static_cast<int>(ktc::exit_code::failure);
        }
    }
    std::cerr << "ktc: unknown verb '" << name << "' (ktc --help lists them)\n";
    return static_cast<int>(ktc::exit_code::usage);
}
