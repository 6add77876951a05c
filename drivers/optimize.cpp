// drivers/optimize.cpp - `ktc optimize`: the vendor's onnx2onnx / torch-exported flows on a model
// file, with the flow options and eliminate_tail, and a summary of what changed.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "cli.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/flows.hpp"

namespace ktc::cli {

namespace {

const char* optimize_usage =
    "usage: ktc optimize IN.onnx -o OUT.onnx [--flow onnx|torch] [--eliminate-tail] [--no-fuse-bn]\n"
    "                    [--bn-on-skip] [--bn-before-add] [--bgr] [--norm] [--rgba2yynn]\n"
    "                    [-v|--verbose] [-q|--quiet] [--force]\n\n"
    "Runs the vendor's optimizer flow (onnx: onnx2onnx_flow; torch: torch_exported_onnx_flow, which\n"
    "also folds the Shape/Gather chains torch.onnx emits) to a fixed point, then the options, then\n"
    "eliminate_tail, and writes the model after the onnx checker accepted it (atomically). Prints\n"
    "the node counts before and after, the op types removed and added, and the time taken; with\n"
    "--eliminate-tail also the nodes removed from the end of the model (re-implement them in\n"
    "post-processing) and the tensors that became outputs. OUT must not be IN unless --force.";

using op_counts = std::map<std::string, std::int64_t>;

op_counts count_ops(const graph::graph& g) {
    op_counts counts;
    for (const graph::vertex v : g.nodes()) ++counts[g[v].op_type];
    return counts;
}

std::string shape_text(const graph::graph& g, const std::string& value) {
    const graph::value_info* info = g.info(value);
    return info && info->rank_known ? to_string(info->shape) : std::string("[?]");
}

// "Conv 3, Relu 2" for the ops whose count went down (sign -1) or up (sign +1).
std::string count_changes(const op_counts& before, const op_counts& after, int sign) {
    std::ostringstream out;
    const char* sep = "";
    std::map<std::string, std::int64_t> all;
    for (const auto& [op, n] : before) all[op] -= n;
    for (const auto& [op, n] : after) all[op] += n;
    for (const auto& [op, delta] : all)
        if (delta * sign > 0) out << sep << op << " " << delta * sign, sep = ", ";
    return out.str();
}

void print_tail(std::ostream& out, const graph::graph& g, const rewrite::passes::tail_report& tail) {
    if (tail.removed.empty()) {
        out << "eliminate_tail: nothing to remove\n";
        return;
    }
    out << "eliminate_tail: removed " << tail.removed.size()
        << " trailing node(s); re-implement them in post-processing (listed from the output back):\n";
    for (const auto& r : tail.removed)
        out << "  " << r.op_type << " '" << r.name << "': " << (r.input.empty() ? "(constant)" : "'" + r.input + "'")
            << " -> '" << r.output << "'\n";
    for (const auto& o : tail.outputs) {
        // An original output that others merged into keeps its name: it "also replaces" them.
        const bool kept = std::find(o.replaces.begin(), o.replaces.end(), o.name) != o.replaces.end();
        out << "  " << (kept ? "output '" : "new output '") << o.name << "' " << shape_text(g, o.name)
            << (kept ? " also replaces " : " replaces ");
        const char* sep = "'";
        for (const auto& r : o.replaces)
            if (r != o.name) out << sep << r << "'", sep = ", '";
        out << "\n";
    }
    for (const auto& d : tail.dropped) out << "  output '" << d << "' dropped (a constant)\n";
}

}  // namespace

int run_optimize(const args& a) {
    po::options_description options("options");
    std::string in_path, out_path, flow;
    // clang-format off
    options.add_options()
        ("input", po::value(&in_path)->required(), "the ONNX model to optimize (positional)")
        ("output,o", po::value(&out_path)->required(), "where to write the optimized model")
        ("flow", po::value(&flow)->default_value("onnx"), "onnx (onnx2onnx_flow) or torch (torch_exported_onnx_flow)")
        ("eliminate-tail", "remove trailing Reshape/Transpose/Flatten/Squeeze/Unsqueeze/Softmax/... nodes (reported)")
        ("no-fuse-bn", "keep BatchNormalization nodes (the vendor's disable_fuse_bn)")
        ("bn-on-skip", "identity BN on skip branches feeding an Add")
        ("bn-before-add", "identity BNs before every Add input and before activations not after Conv/BN")
        ("bgr", "the model takes BGR where it was trained on RGB (first conv's channels swapped)")
        ("norm", "the model takes x - 0.5 (a 1x1 conv adding 0.5 at each image input)")
        ("rgba2yynn", "the model takes RGBA where it was trained on YYNN (a 4->4 luma conv at the input)")
        ("verbose,v", "print every change (pass, pattern, node, what)")
        ("quiet,q", "print nothing on success")
        ("force", "allow OUT to be IN (overwrite the input model)");
    // clang-format on
    po::positional_options_description positional;
    positional.add("input", 1);
    po::variables_map vm;
    if (!parse(a, options, vm, optimize_usage, &positional)) return 0;
    if (flow != "onnx" && flow != "torch") throw usage_error("--flow " + flow + ": expected onnx or torch");

    rewrite::flow_options o;
    o.fuse_bn = !vm.count("no-fuse-bn");
    o.eliminate_tail = vm.count("eliminate-tail") != 0;
    o.bn_on_skip = vm.count("bn-on-skip") != 0;
    o.bn_before_add = vm.count("bn-before-add") != 0;
    o.bgr = vm.count("bgr") != 0;
    o.norm = vm.count("norm") != 0;
    o.rgba2yynn = vm.count("rgba2yynn") != 0;
    const bool quiet = vm.count("quiet") != 0, verbose = vm.count("verbose") != 0 && !quiet;

    // Never overwrite the input by accident: the same path, or another name for the same file.
    std::error_code ec;
    if (!vm.count("force") && std::filesystem::exists(out_path, ec) &&
        std::filesystem::equivalent(in_path, out_path, ec))
        throw usage_error(out_path + ": is the input model; give another -o or --force to overwrite it");

    const auto start = std::chrono::steady_clock::now();
    graph::graph g = onnx::load(in_path);
    const op_counts before = count_ops(g);
    const std::size_t nodes_before = g.node_count();

    const auto flow_start = std::chrono::steady_clock::now();
    rewrite::flow_report report;
    try {
        report = flow == "torch" ? rewrite::torch_exported_onnx_flow(g, o) : rewrite::onnx2onnx_flow(g, o);
    } catch (const error& e) {
        throw error(in_path + ": " + e.what(), e.code());
    }
    const auto flow_end = std::chrono::steady_clock::now();
    onnx::save(g, out_path);
    const auto end = std::chrono::steady_clock::now();
    if (quiet) return 0;

    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    const op_counts after = count_ops(g);
    std::cout << "ktc optimize: " << in_path << " -> " << out_path << " (" << report.flow << " flow)\n";
    if (verbose)
        for (const auto& c : report.changes)
            std::cout << "  [" << c.pass << "/" << c.pattern << "] " << c.node << ": " << c.what << "\n";
    std::cout << "nodes: " << nodes_before << " -> " << g.node_count() << "\n";
    const std::string removed = count_changes(before, after, -1), added = count_changes(before, after, +1);
    std::cout << "removed: " << (removed.empty() ? "none" : removed) << "\n";
    if (!added.empty()) std::cout << "added: " << added << "\n";
    std::cout << "rounds: " << report.rounds << (report.converged ? " (converged)" : " (NOT converged: bound reached)")
              << ", changes: " << report.changes.size() << "\n";
    if (report.tail) print_tail(std::cout, g, *report.tail);
    std::cout << std::fixed << std::setprecision(1) << "time: " << ms(end - start) << " ms (flow "
              << ms(flow_end - flow_start) << " ms)\n";
    return 0;
}

}  // namespace ktc::cli
