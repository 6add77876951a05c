// ktc/graph/attributes.hpp - node attributes: a name -> value map with typed, defaulted access.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "ktc/core/tensor.hpp"

namespace ktc::graph {

using attribute = std::variant<std::int64_t, float, std::string, tensor, std::vector<std::int64_t>, std::vector<float>,
                               std::vector<std::string>>;

class attributes {
public:
    bool has(const std::string& name) const { return values_.count(name) != 0; }
    void set(const std::string& name, attribute value) { values_[name] = std::move(value); }
    void erase(const std::string& name) { values_.erase(name); }
    const std::map<std::string, attribute>& all() const { return values_; }

    std::int64_t get_int(const std::string& name, std::int64_t fallback) const {
        return get_or<std::int64_t>(name, fallback);
    }
    std::int64_t get_int(const std::string& name) const { return get<std::int64_t>(name); }
    float get_float(const std::string& name, float fallback) const { return get_or<float>(name, fallback); }
    float get_float(const std::string& name) const { return get<float>(name); }
    std::string get_string(const std::string& name, const std::string& fallback) const {
        return get_or<std::string>(name, fallback);
    }
    std::vector<std::int64_t> get_ints(const std::string& name, std::vector<std::int64_t> fallback = {}) const {
        return get_or<std::vector<std::int64_t>>(name, std::move(fallback));
    }
    std::vector<float> get_floats(const std::string& name, std::vector<float> fallback = {}) const {
        return get_or<std::vector<float>>(name, std::move(fallback));
    }
    const tensor& get_tensor(const std::string& name) const { return get_ref<tensor>(name); }

private:
    template <class T>
    const T& get_ref(const std::string& name) const {
        auto it = values_.find(name);
        if (it == values_.end()) throw error("missing attribute '" + name + "'");
        if (auto* v = std::get_if<T>(&it->second)) return *v;
        throw error("attribute '" + name + "' has the wrong type");
    }
    template <class T>
    T get(const std::string& name) const {
        return get_ref<T>(name);
    }
    template <class T>
    T get_or(const std::string& name, T fallback) const {
        return has(name) ? get_ref<T>(name) : fallback;
    }

    std::map<std::string, attribute> values_;
};

}  // namespace ktc::graph
