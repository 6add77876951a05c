// ktc/rewrite/editor.hpp - the vendor's model editor on the IR: delete, cut, reshape, insert,
// rename. Each function checks every name it is given before changing anything, throws
// ktc::usage_error naming the node or value that does not exist (or cannot be edited that way),
// and logs what it did to a change_log (pass "edit", pattern = the function's name).
//
// Rules (docs/editor.md has the same with examples):
//   delete_nodes             each node's readers (and a graph output it produces) read the node's
//                            first input instead, as the vendor does. Refused when that input's
//                            type or shape differs from the node's output (where both are known),
//                            when the node has no first input, or when a later output is read.
//                            A graph output keeps its name where it can: the first input is
//                            renamed to it, unless that input is a graph input, an initializer or
//                            a graph output itself.
//   delete_inputs            removes the graph input and every node that depends on it, with the
//                            graph outputs they produced; refused when no graph output would be
//                            left.
//   delete_outputs           removes the graph outputs, then every node that no longer reaches a
//                            remaining output; refused when no output would be left.
//   cut_graph_from_nodes     the outputs of the named nodes become graph outputs; every node after
//                            them (reading their outputs, transitively) is removed, with the graph
//                            outputs it produced; then nodes that reach no output.
//   remove_nodes_with_types  delete_nodes on every node of the given op types (in dataflow order);
//                            refused when a type matches no node.
//   change_input_output_shapes  sets the shape of graph inputs/outputs (-1: unknown dimension).
//                            The inferred value_infos are dropped: run onnx::infer_shapes after.
//   add_conv_after           after each value (a graph input or node output, 4-D NCHW with a known
//                            C) an identity 1x1 Conv (weight I[C,C,1,1], zero bias).
//   add_bn_after             after each value (rank >= 2, known C at axis 1) an identity
//                            BatchNormalization (scale 1, bias 0, mean 0, var 1 - eps, eps = 2^-16,
//                            so that var + eps is exactly 1).
//     Both insertions: readers of the value read the new node's output; a graph output keeps its
//     name (the producer's output is renamed, the new node writes the output's name).
//   rename_output            renames a graph output value everywhere; the new name must be unused.
//   pixel_modify             a per-channel BatchNormalization after a 4-D graph input computing
//                            x * scale[c] + bias[c] (the vendor's input normalization); the input
//                            is the only 4-D graph input unless named.
#pragma once

#include "ktc/core/config.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ktc/rewrite/rewriter.hpp"

namespace ktc::rewrite {

namespace detail::edit {

KTC_DECL std::string join(const std::vector<std::string>& names);

KTC_DECL bool value_exists(const graph::graph& g, const std::string& value);

// The nodes of each name, in the given order; one usage_error naming every missing one.
KTC_DECL std::vector<graph::vertex> find_nodes(const graph::graph& g, const std::vector<std::string>& names,
                                               const std::string& function);

// Same type, same rank, equal dimensions wherever both are known.
KTC_DECL bool compatible(const graph::value_info& a, const graph::value_info& b);

KTC_DECL std::string describe(const graph::value_info& v);

// Every node that reads, transitively, one of `values`.
KTC_DECL std::set<graph::vertex> downstream_of(const graph::graph& g, std::vector<std::string> values);

// The graph's state of a value, for a new graph output or a new intermediate.
KTC_DECL graph::value_info info_or_unknown(const graph::graph& g, const std::string& value);

// Removes the nodes that reach no graph output, logging each.
KTC_DECL void remove_dead_logged(graph::graph& g, rewriter& r);

// Removes `nodes` (their outputs need not be unused), and the graph outputs they produced.
KTC_DECL void remove_nodes(graph::graph& g, rewriter& r, const std::set<graph::vertex>& nodes, const std::string& why);

// Why `v` cannot be bypassed (its readers made to read its first input), or "" when it can.
KTC_DECL std::string bypass_problem(const graph::graph& g, graph::vertex v);

// Makes the readers of `v`'s first output read its first input, then removes `v`.
KTC_DECL void bypass(graph::graph& g, rewriter& r, graph::vertex v);

// Inserts `n` (one input, one output, names filled in here) after `value`; returns its name.
KTC_DECL std::string insert_after(graph::graph& g, rewriter& r, const std::string& value, graph::node n,
                                  const std::string& suffix, const std::string& why);

// The channel count (axis 1) of `value`, which must exist and have rank >= `min_rank`.
KTC_DECL std::int64_t channels_of(const graph::graph& g, const std::string& value, std::size_t min_rank,
                                  const std::string& function);

KTC_DECL void check_values(const graph::graph& g, const std::vector<std::string>& values, const std::string& function);

// 2^-16: var = 1 - eps and var + eps = 1 are exact in float.
inline constexpr float identity_bn_epsilon = 1.f / 65536.f;

KTC_DECL graph::node batch_norm(rewriter& r, const std::string& base, const std::vector<float>& scale,
                                const std::vector<float>& bias);

}  // namespace detail::edit

// ---- deletions ---------------------------------------------------------------------------------

KTC_DECL void delete_nodes(graph::graph& g, const std::vector<std::string>& names, change_log& log);

KTC_DECL void remove_nodes_with_types(graph::graph& g, const std::vector<std::string>& types, change_log& log);

KTC_DECL void delete_inputs(graph::graph& g, const std::vector<std::string>& names, change_log& log);

KTC_DECL void delete_outputs(graph::graph& g, const std::vector<std::string>& names, change_log& log);

KTC_DECL void cut_graph_from_nodes(graph::graph& g, const std::vector<std::string>& names, change_log& log);

// ---- shapes ------------------------------------------------------------------------------------

KTC_DECL void change_input_output_shapes(graph::graph& g, const std::map<std::string, shape_t>& shapes,
                                         change_log& log);

// ---- insertions --------------------------------------------------------------------------------

// Returns the names of the inserted Conv nodes.
KTC_DECL std::vector<std::string> add_conv_after(graph::graph& g, const std::vector<std::string>& values,
                                                 change_log& log);

// Returns the names of the inserted BatchNormalization nodes.
KTC_DECL std::vector<std::string> add_bn_after(graph::graph& g, const std::vector<std::string>& values,
                                               change_log& log);

// Returns the name of the inserted BatchNormalization node.
KTC_DECL std::string pixel_modify(graph::graph& g, const std::vector<float>& scale, const std::vector<float>& bias,
                                  change_log& log, std::string input = "");

// ---- names -------------------------------------------------------------------------------------

KTC_DECL void rename_output(graph::graph& g, const std::string& from, const std::string& to, change_log& log);

}  // namespace ktc::rewrite

#if KTC_HEADER_ONLY
#include "ktc/rewrite/editor.ipp"
#endif
