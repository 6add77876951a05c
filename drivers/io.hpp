// drivers/io.hpp - model inputs and outputs as the verbs read and write them: .npy files (or
// folders of them) in, one .npy per output out.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "ktc/core/npy.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/sim/interpreter.hpp"

namespace ktc::cli {

// Output names may hold characters a file name cannot.
inline std::string file_name_for(const std::string& value) {
    std::string s = value;
    for (char& c : s)
        if (c == '/' || c == '\\' || c == ':' || c == '\0') c = '_';
    return s.empty() || s == "." || s == ".." ? "_" + s : s;
}

// One input's data: a .npy file (one sample, or N stacked), or a folder whose .npy files (in name
// order) are samples or stacks of samples of the same shape, joined into one stack.
inline tensor load_input_data(const std::filesystem::path& path, const graph::value_info& info) {
    if (!std::filesystem::is_directory(path)) return npy::load(path);
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(path))
        if (e.path().extension() == ".npy") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (files.empty()) throw file_error(path.string(), "folder holds no .npy files");
    std::vector<tensor> parts;
    shape_t sample_shape;
    std::int64_t total = 0;
    for (const auto& f : files) {
        tensor t = npy::load(f);
        const bool one = !info.rank_known || t.rank() == static_cast<std::int64_t>(info.shape.size());
        shape_t s(t.shape().begin() + (one ? 0 : 1), t.shape().end());
        if (parts.empty()) sample_shape = s;
        else if (s != sample_shape || t.type() != parts.front().type())
            // A usage error (exit 2), as any mis-shaped input: the samples of one input share a
            // shape, also when the model's input is dynamic (analysis fixes it to that shape).
            throw usage_error("input '" + info.name + "': " + f.string() + " holds " + name_of(t.type()) + " " +
                              to_string(t.shape()) + ", the folder's first file " + files.front().string() + " " +
                              name_of(parts.front().type()) + " " + to_string(parts.front().shape()) +
                              ": the samples of one input must share a shape and type");
        total += one ? 1 : t.dim(0);
        parts.push_back(std::move(t));
    }
    shape_t stacked = sample_shape;
    stacked.insert(stacked.begin(), total);
    tensor all(parts.front().type(), stacked);
    std::size_t at = 0;
    for (const auto& p : parts) {
        std::memcpy(all.raw() + at, p.raw(), p.byte_size());
        at += p.byte_size();
    }
    return all;
}

// --input specs: NAME=PATH per model input, or just PATH for a one-input model.
inline sim::tensor_map read_inputs(const std::vector<std::string>& specs,
                                   const std::vector<graph::value_info>& model_inputs) {
    sim::tensor_map inputs;
    for (const auto& spec : specs) {
        const auto eq = spec.find('=');
        std::string name, path;
        if (eq == std::string::npos) {
            if (model_inputs.size() != 1)
                throw usage_error("--input " + spec + ": the model has " + std::to_string(model_inputs.size()) +
                                  " inputs; use NAME=FILE.npy");
            name = model_inputs.front().name, path = spec;
        } else {
            name = spec.substr(0, eq), path = spec.substr(eq + 1);
        }
        if (inputs.count(name)) throw usage_error("input '" + name + "' given twice");
        const auto info =
            std::find_if(model_inputs.begin(), model_inputs.end(), [&](auto& i) { return i.name == name; });
        if (info == model_inputs.end()) throw usage_error("'" + name + "' is not an input of the model");
        inputs.emplace(name, load_input_data(path, *info));
    }
    return inputs;
}

}  // namespace ktc::cli
