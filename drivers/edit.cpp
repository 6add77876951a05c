// drivers/edit.cpp - `ktc edit`: the vendor's model editor on a model file.
#include <filesystem>
#include <iostream>
#include <map>

#include "cli.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/opset11.hpp"
#include "ktc/onnx/shape_inference.hpp"
#include "ktc/rewrite/editor.hpp"

namespace ktc::cli {

namespace {

const char* edit_usage =
    "usage: ktc edit IN.onnx -o OUT.onnx [--delete-node N]... [--delete-input N]...\n"
    "                [--delete-output N]... [--cut-from N]... [--remove-op-type T]...\n"
    "                [--input-shape NAME=1,3,224,224]... [--output-shape NAME=D,...]...\n"
    "                [--add-conv-after V]... [--add-bn-after V]... [--pixel-modify S,..:B,..]\n"
    "                [--pixel-modify-input NAME] [--rename-output A=B]... [--opset 17|11]\n"
    "                [-v] [-q] [--force]\n\n"
    "Edits a model as the vendor's editor does, in this order whatever the order on the command\n"
    "line: delete nodes (their readers read each node's first input), delete inputs (with what\n"
    "depends on them), delete outputs (with the nodes only they needed), cut from nodes (their\n"
    "outputs become graph outputs, everything after them goes), remove op types, set input and\n"
    "output shapes (-1: unknown), add identity 1x1 convs and identity BNs after values,\n"
    "pixel-modify (a BN computing x*scale+bias per channel at the 4-D input), rename outputs.\n"
    "Names are those of the input model. Shapes are inferred again, the onnx checker accepts the\n"
    "model, then it is written atomically (opset 17, or 11 with --opset 11). OUT must not be IN\n"
    "unless --force. Unknown names are usage errors (exit 2).";

std::pair<std::string, std::string> split_pair(const std::string& spec, char sep, const std::string& option,
                                               bool last = false) {
    const auto at = last ? spec.rfind(sep) : spec.find(sep);
    if (at == std::string::npos || at == 0 || at + 1 == spec.size())
        throw usage_error(option + " " + spec + ": expected A" + sep + "B");
    return {spec.substr(0, at), spec.substr(at + 1)};
}

template <class T>
std::vector<T> parse_list(const std::string& text, const std::string& option) {
    std::vector<T> values;
    std::size_t start = 0;
    while (true) {
        const auto comma = text.find(',', start);
        const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        std::size_t used = 0;
        try {
            if constexpr (std::is_same_v<T, float>) values.push_back(std::stof(item, &used));
            else values.push_back(std::stoll(item, &used));
        } catch (const std::exception&) {
            used = std::string::npos;
        }
        if (item.empty() || used != item.size()) throw usage_error(option + ": '" + item + "' is not a number");
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return values;
}

}  // namespace

int run_edit(const args& a) {
    po::options_description options("options");
    std::string in_path, out_path, pixel_spec, pixel_input;
    std::vector<std::string> delete_node, delete_input, delete_output, cut_from, remove_type, input_shape, output_shape,
        add_conv, add_bn, rename;
    int opset = 17;
    // clang-format off
    options.add_options()
        ("input", po::value(&in_path)->required(), "the ONNX model to edit (positional)")
        ("output,o", po::value(&out_path)->required(), "where to write the edited model")
        ("delete-node", po::value(&delete_node)->composing(), "delete node N; its readers read its first input")
        ("delete-input", po::value(&delete_input)->composing(), "delete graph input N and every node that depends on it")
        ("delete-output", po::value(&delete_output)->composing(), "delete graph output N and the nodes only it needed")
        ("cut-from", po::value(&cut_from)->composing(), "end the graph at node N: its outputs become graph outputs")
        ("remove-op-type", po::value(&remove_type)->composing(), "delete every node of op type T")
        ("input-shape", po::value(&input_shape)->composing(), "NAME=D,D,...: set a graph input's shape (-1: unknown)")
        ("output-shape", po::value(&output_shape)->composing(), "NAME=D,D,...: set a graph output's shape")
        ("add-conv-after", po::value(&add_conv)->composing(), "insert an identity 1x1 Conv after value V (4-D)")
        ("add-bn-after", po::value(&add_bn)->composing(), "insert an identity BatchNormalization after value V")
        ("pixel-modify", po::value(&pixel_spec), "SCALE,...:BIAS,...: a BN computing x*scale+bias per input channel")
        ("pixel-modify-input", po::value(&pixel_input), "the graph input --pixel-modify applies to (default: the only 4-D one)")
        ("rename-output", po::value(&rename)->composing(), "A=B: rename graph output A to B")
        ("opset", po::value(&opset)->default_value(17), "write opset 17 (ktc's canonical form) or 11 (IR 6, as the vendor)")
        ("verbose,v", "print every change")
        ("quiet,q", "print nothing on success")
        ("force", "allow OUT to be IN (overwrite the input model)");
    // clang-format on
    po::positional_options_description positional;
    positional.add("input", 1);
    po::variables_map vm;
    if (!parse(a, options, vm, edit_usage, &positional)) return 0;
    if (opset != 17 && opset != 11) throw usage_error("--opset " + std::to_string(opset) + ": expected 17 or 11");

    // Everything on the command line is parsed before the model is read.
    std::map<std::string, shape_t> shapes;
    for (const auto* list : {&input_shape, &output_shape})
        for (const auto& spec : *list) {
            const auto [name, dims] =
                split_pair(spec, '=', list == &input_shape ? "--input-shape" : "--output-shape", true);
            if (!shapes.emplace(name, parse_list<std::int64_t>(dims, "--input-shape/--output-shape " + spec)).second)
                throw usage_error("the shape of '" + name + "' is given twice");
        }
    std::vector<std::pair<std::string, std::string>> renames;
    for (const auto& spec : rename) renames.push_back(split_pair(spec, '=', "--rename-output"));
    std::vector<float> pixel_scale, pixel_bias;
    if (!pixel_spec.empty()) {
        const auto [scale, bias] = split_pair(pixel_spec, ':', "--pixel-modify");
        pixel_scale = parse_list<float>(scale, "--pixel-modify scales");
        pixel_bias = parse_list<float>(bias, "--pixel-modify biases");
    } else if (!pixel_input.empty()) {
        throw usage_error("--pixel-modify-input needs --pixel-modify");
    }
    const bool any_edit = !delete_node.empty() || !delete_input.empty() || !delete_output.empty() ||
                          !cut_from.empty() || !remove_type.empty() || !shapes.empty() || !add_conv.empty() ||
                          !add_bn.empty() || !renames.empty() || !pixel_spec.empty();
    if (!any_edit && opset == 17) throw usage_error("no edit given (ktc edit --help lists them)");
    const bool quiet = vm.count("quiet") != 0, verbose = vm.count("verbose") != 0 && !quiet;

    std::error_code ec;
    if (!vm.count("force") && std::filesystem::exists(out_path, ec) &&
        std::filesystem::equivalent(in_path, out_path, ec))
        throw usage_error(out_path + ": is the input model; give another -o or --force to overwrite it");

    graph::graph g = onnx::load(in_path);
    const std::size_t nodes_before = g.node_count();
    rewrite::change_log log;
    try {
        if (!delete_node.empty()) rewrite::delete_nodes(g, delete_node, log);
        if (!delete_input.empty()) rewrite::delete_inputs(g, delete_input, log);
        if (!delete_output.empty()) rewrite::delete_outputs(g, delete_output, log);
        if (!cut_from.empty()) rewrite::cut_graph_from_nodes(g, cut_from, log);
        if (!remove_type.empty()) rewrite::remove_nodes_with_types(g, remove_type, log);
        if (!shapes.empty()) {
            rewrite::change_input_output_shapes(g, shapes, log);
            onnx::infer_shapes(g, in_path);  // the insertions below read channel counts
        }
        if (!add_conv.empty()) rewrite::add_conv_after(g, add_conv, log);
        if (!add_bn.empty()) rewrite::add_bn_after(g, add_bn, log);
        if (!pixel_spec.empty()) rewrite::pixel_modify(g, pixel_scale, pixel_bias, log, pixel_input);
        for (const auto& [from, to] : renames) rewrite::rename_output(g, from, to, log);
    } catch (const usage_error& e) {
        throw usage_error(in_path + ": " + e.what());
    }
    onnx::infer_shapes(g, in_path);
    if (opset == 11) onnx::save_opset11(g, out_path);
    else onnx::save(g, out_path);
    if (quiet) return 0;

    std::cout << "ktc edit: " << in_path << " -> " << out_path << " (opset " << opset << ")\n";
    if (verbose)
        for (const auto& c : log)
            std::cout << "  [" << c.pattern << "] " << (c.node.empty() ? "" : c.node + ": ") << c.what << "\n";
    std::cout << "nodes: " << nodes_before << " -> " << g.node_count() << ", changes: " << log.size() << "\n";
    std::cout << "outputs:";
    for (const auto& o : g.outputs)
        std::cout << " " << o.name << (o.rank_known ? to_string(o.shape) : std::string("[?]"));
    std::cout << "\n";
    return 0;
}

}  // namespace ktc::cli
