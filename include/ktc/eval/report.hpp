// ktc/eval/report.hpp - what `ktc evaluate` prints and writes: the evaluator's reports.
//
// One evaluation (a model's support check and, when every node can run, its cost estimate) in
// three forms:
//   text_report   a per-layer table, the vendor-style summary (kneron-facts §3: estimate FPS,
//                 total time, total theoretical convolution time, average DRAM bandwidth, MAC
//                 efficiency, MAC idle and running time), then one warning per CPU operator
//   json_report   the same figures for programs (docs/evaluate.md has the schema)
//   html_report   one self-contained page: the summary, an inline SVG chart of where the time
//                 goes, the full table; no external script, font or style sheet
// A model with unsupported nodes has no estimate: the reports then list those nodes with the
// rule each breaks (unsupported_message is the driver's exit-3 text).
//
// Every name that comes from the model (node names, op types, the path) is escaped in the HTML,
// and the JSON is written with invalid UTF-8 replaced, so no model can break either file.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ktc/eval/estimate.hpp"
#include "ktc/eval/support.hpp"

namespace ktc::eval {

// What one `ktc evaluate` found out about one model on one chip.
struct evaluation {
    std::string model;                                // the model's path or name, as given
    support_report support;                           // every node's verdict
    std::optional<performance_estimate> performance;  // absent when some node is unsupported
};

namespace report_detail {

KTC_DECL std::string fixed(double v, int decimals);

// printf-style "%.<digits>g".
KTC_DECL std::string num(double v, int digits = 6);

// An estimated figure for people: 3 significant digits, no exponent, no trailing zeros
// (1639.4 -> "1640", 22.58 -> "22.6", 0.01504 -> "0.015"). The estimate is not more precise
// than that (docs/cost-model.md); the JSON keeps full precision for programs.
KTC_DECL std::string people(double v);

KTC_DECL std::string pad_right(std::string s, std::size_t width);

KTC_DECL std::string pad_left(std::string s, std::size_t width);

// The last `limit` bytes of `s` (where exported names differ: "/features.5/Conv"), cut on a
// UTF-8 character boundary, with "..." in front when cut.
KTC_DECL std::string shorten(const std::string& s, std::size_t limit);

// Text safe inside HTML elements and quoted attributes (and SVG within HTML).
KTC_DECL std::string html_escape(std::string_view s);

// The verdict of every node by name.
KTC_DECL std::map<std::string, const node_support*> by_name(const support_report& s);

// Where a layer runs: its leading node's verdict, or what its bound implies.
KTC_DECL placement placement_of(const layer_estimate& l, const std::map<std::string, const node_support*>& nodes);

// "Conv+Relu+MaxPool": the layer's op and the ops fused into it.
KTC_DECL std::string ops_of(const layer_estimate& l, const std::map<std::string, const node_support*>& nodes);

struct node_counts {
    std::size_t npu = 0, cpu = 0, unsupported = 0, folded = 0;
};

KTC_DECL node_counts count(const support_report& s);

// CPU nodes (never folded ones) in topological order.
KTC_DECL std::vector<const node_support*> cpu_nodes(const support_report& s);

// One labelled figure of the summary, in the order the vendor prints them.
struct summary_line {
    const char* label;
    double value;
    const char* unit;
};

KTC_DECL std::vector<summary_line> summary(const performance_estimate& p);

// Each layer's whole time counted under what bounds it (a CPU layer under cpu), in bound order:
// why the model is as slow as it is.
KTC_DECL std::vector<std::pair<bound, double>> time_by_bound(const performance_estimate& p,
                                                             const std::map<std::string, const node_support*>& nodes);

}  // namespace report_detail

// The exit-3 message: the first line says how many nodes the chip cannot run, then one line per
// node, "  NAME (OP): RULE". Empty when every node can run.
KTC_DECL std::string unsupported_message(const support_report& s, const std::string& model);

// The text report: header, per-layer table, summary, warnings. Without an estimate, the header
// and the unsupported nodes.
KTC_DECL std::string text_report(const evaluation& e);

// The JSON report (schema in docs/evaluate.md). Figures an unsupported model has no estimate for
// are null; its "unsupported" list is complete.
KTC_DECL nlohmann::ordered_json json_report(const evaluation& e);

// The JSON report as a file's text: indented, invalid UTF-8 in names replaced by U+FFFD.
KTC_DECL std::string json_text(const evaluation& e);

namespace report_detail {

KTC_DECL const char* colour_of(bound b);

inline constexpr bound all_bounds[] = {bound::compute, bound::weights, bound::fmap_in, bound::fmap_out, bound::cpu};

KTC_DECL const char* legend_of(bound b);

// Horizontal bars of the `top` slowest layers, longest first, coloured by what bounds them (a
// CPU layer is always "cpu"); a last bar sums the rest. The svg carries id "ktc-time-chart".
KTC_DECL std::string time_chart(const performance_estimate& p, const std::map<std::string, const node_support*>& nodes,
                                std::size_t top = 25);

}  // namespace report_detail

// The HTML report: one page, everything inline.
KTC_DECL std::string html_report(const evaluation& e);

}  // namespace ktc::eval

#if KTC_HEADER_ONLY
#include "ktc/eval/report.ipp"
#endif
