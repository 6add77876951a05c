// ktc/quant/upstream_rounding.ipp - the definitions behind upstream_rounding.hpp (compiled once
// in src/, or included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/quant/upstream_rounding.hpp"

namespace ktc::quant {

KTC_DECL std::vector<std::set<std::string>> waves_of(const graph::graph& g, const std::set<std::string>& layers) {
    std::map<std::string, std::size_t> depth_of_value;  // the wave a reader of the value must wait for
    std::vector<std::set<std::string>> waves;
    for (const graph::vertex v : g.topological_order()) {
        const graph::node& n = g[v];
        std::size_t depth = 0;
        for (const auto& in : n.inputs)
            if (const auto d = depth_of_value.find(in); d != depth_of_value.end()) depth = std::max(depth, d->second);
        if (layers.count(n.name)) {
            if (waves.size() <= depth) waves.resize(depth + 1);
            waves[depth].insert(n.name);
            ++depth;
        }
        for (const auto& out : n.outputs) depth_of_value[out] = depth;
    }
    return waves;
}

KTC_DECL upstream_inputs::upstream_inputs(const sim::float_simulator& reference, const std::set<std::string>& layers,
                                          std::size_t sample_count,
                                          const std::function<sim::tensor_map(std::size_t)>& sample,
                                          const calibration_options& options)
    : reference_(reference), options_(options), readers_(calibrate_detail::patch_readers(reference.graph())) {
    for (auto it = readers_.begin(); it != readers_.end();) {
        std::erase_if(it->second, [&](const graph::node* n) { return !layers.count(n->name); });
        it = it->second.empty() ? readers_.erase(it) : std::next(it);
    }
    for (std::size_t i = 0; i < sample_count; ++i)
        if (const auto use = calibrate_detail::patches_use(i, sample_count, options);
            use != calibrate_detail::patch_use::none) {
            kept_sample k;
            k.fit = use == calibrate_detail::patch_use::fit;
            k.inputs = sample(i);
            kept_.push_back(std::move(k));
        }
    for (auto& k : kept_) {  // after the vector stops moving: a session points at its inputs
        k.float_run.emplace(reference_.start(k.inputs));
        for (const auto& [name, x] : k.inputs)
            if (readers_.count(name) && x.type() == dtype::float32) k.floats[name] = x;
    }
}

KTC_DECL std::map<std::string, layer_input_moments> upstream_inputs::next_wave(const sim::runner& quantized,
                                                                               const std::set<std::string>& wave) {
    const graph::graph& g = reference_.graph();
    std::set<std::string> wanted;  // the values the wave reads
    for (const auto& [value, layers] : readers_)
        for (const graph::node* n : layers)
            if (wave.count(n->name)) wanted.insert(value);
    const auto read_later = [&](const std::string& value) {  // by a layer of this wave or a later one
        const auto r = readers_.find(value);
        return r != readers_.end() && std::any_of(r->second.begin(), r->second.end(),
                                                  [&](const graph::node* n) { return !done_.count(n->name); });
    };
    const auto input_formats = fixed::edge_formats(quantized.graph());
    const unsigned threads = calibrate_detail::thread_count(options_, kept_.size());
    std::vector<std::map<std::string, layer_input_moments>> partial(threads);
    struct enough {};
    const auto work = [&](unsigned t, std::size_t i) {
        kept_sample& k = kept_[i];
        const auto have_all = [&](const std::map<std::string, tensor>& values) {
            return std::all_of(wanted.begin(), wanted.end(),
                               [&](const std::string& v) { return values.count(v) != 0; });
        };
        // The float run goes on until it has made every value the wave reads.
        if (!have_all(k.floats))
            k.float_run->advance(
                [&](const graph::node& n, std::span<const tensor> outs) {
                    for (std::size_t o = 0; o < outs.size() && o < n.outputs.size(); ++o)
                        if (outs[o].type() == dtype::float32 && read_later(n.outputs[o]))
                            k.floats[n.outputs[o]] = outs[o];
                },
                [&] { return have_all(k.floats); });
        // The quantized run, from the start until it has made them: its dequantized values.
        std::map<std::string, tensor> values;
        for (const auto& [name, x] : k.inputs)
            if (wanted.count(name) && x.type() == dtype::float32) {
                const auto f = input_formats.find(name);
                values[name] = f == input_formats.end()
                                   ? x
                                   : fixed::dequantize_tensor(fixed::quantize_tensor(x, f->second), f->second);
            }
        if (!have_all(values)) try {
                quantized.run(k.inputs, [&](const graph::node& n, std::span<const tensor> outs) {
                    const auto radix = n.attrs.get_ints(fixed::attr::output_radix, {});
                    for (std::size_t o = 0; o < outs.size() && o < n.outputs.size(); ++o) {
                        if (!wanted.count(n.outputs[o])) continue;
                        if (is_floating(outs[o].type()))
                            values[n.outputs[o]] =
                                outs[o].type() == dtype::float32 ? outs[o] : outs[o].cast(dtype::float32);
                        else if (o < radix.size() && radix[o] != fixed::not_quantized)
                            values[n.outputs[o]] = fixed::dequantize_tensor(outs[o], fixed::output_format(n, o));
                    }
                    if (have_all(values)) throw enough{};  // the rest of the model is not needed
                });
            } catch (const enough&) {
            }
        for (const auto& value : wanted) {
            const auto p = k.floats.find(value), q = values.find(value);
            if (p == k.floats.end() || q == values.end() || p->second.shape() != q->second.shape()) continue;
            for (const graph::node* reader : readers_.at(value))
                if (wave.count(reader->name))
                    if (const auto geometry = patches_of(*reader, g, p->second.shape())) {
                        layer_input_moments& m = partial[t][reader->name];
                        (k.fit ? m.fit : m.check)
                            .observe(*geometry, q->second.values<float>(), p->second.values<float>());
                    }
        }
    };
    calibrate_detail::for_each_sample(threads, kept_.size(), work, {});

    done_.insert(wave.begin(), wave.end());
    for (auto& k : kept_)  // values no layer still to come reads
        std::erase_if(k.floats, [&](const auto& entry) { return !read_later(entry.first); });
    std::map<std::string, layer_input_moments> result;
    for (auto& p : partial)
        for (auto& [name, m] : p) result[name].merge(m);
    return result;
}

}  // namespace ktc::quant
