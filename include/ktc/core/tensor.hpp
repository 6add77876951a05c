// ktc/core/tensor.hpp - a dense, row-major, owning n-dimensional array of one dtype.
#pragma once

#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <span>
#include <string>
#include <utility>

#include "ktc/core/dtype.hpp"
#include "ktc/core/shape.hpp"

namespace ktc {

class tensor {
public:
    tensor() = default;

    // Uninitialized storage: kernels overwrite every element.
    tensor(dtype type, shape_t shape)
        : type_(type),
          shape_(std::move(shape)),
          count_(element_count(shape_)),
          data_(std::make_unique_for_overwrite<std::byte[]>(byte_size())) {}

    template <class T>
    static tensor from(shape_t shape, std::span<const T> values) {
        tensor t(dtype_of<T>(), std::move(shape));
        if (static_cast<std::int64_t>(values.size()) != t.size())
            throw error("tensor::from: " + std::to_string(values.size()) + " values for shape " + to_string(t.shape()));
        if (t.byte_size()) std::memcpy(t.raw(), values.data(), t.byte_size());
        return t;
    }
    template <class T>
    static tensor from(shape_t shape, std::initializer_list<T> values) {
        return from<T>(std::move(shape), std::span<const T>(values.begin(), values.size()));
    }
    template <class T>
    static tensor scalar(T value) {
        return from<T>({}, std::span<const T>(&value, 1));
    }
    static tensor zeros(dtype type, shape_t shape) {
        tensor t(type, std::move(shape));
        std::memset(t.raw(), 0, t.byte_size());
        return t;
    }

    tensor(const tensor& other)
        : type_(other.type_),
          shape_(other.shape_),
          count_(other.count_),
          data_(std::make_unique_for_overwrite<std::byte[]>(other.byte_size())) {
        if (count_) std::memcpy(raw(), other.raw(), byte_size());
    }
    tensor& operator=(const tensor& other) {
        if (this != &other) *this = tensor(other);
        return *this;
    }
    tensor(tensor&&) noexcept = default;
    tensor& operator=(tensor&&) noexcept = default;

    dtype type() const { return type_; }
    const shape_t& shape() const { return shape_; }
    std::int64_t rank() const { return static_cast<std::int64_t>(shape_.size()); }
    std::int64_t dim(std::int64_t axis) const { return shape_[normalize_axis(axis, rank())]; }
    std::int64_t size() const { return count_; }
    std::size_t byte_size() const { return static_cast<std::size_t>(count_) * size_of(type_); }

    std::byte* raw() { return data_.get(); }
    const std::byte* raw() const { return data_.get(); }

    template <class T>
    T* data() {
        check_type<T>();
        return reinterpret_cast<T*>(data_.get());
    }
    template <class T>
    const T* data() const {
        check_type<T>();
        return reinterpret_cast<const T*>(data_.get());
    }
    template <class T>
    std::span<T> values() {
        return {data<T>(), static_cast<std::size_t>(count_)};
    }
    template <class T>
    std::span<const T> values() const {
        return {data<T>(), static_cast<std::size_t>(count_)};
    }

    // Same elements, new shape of equal element count.
    tensor reshaped(shape_t shape) && {
        if (element_count(shape) != count_)
            throw error("cannot reshape " + to_string(shape_) + " to " + to_string(shape));
        shape_ = std::move(shape);
        return std::move(*this);
    }
    void reshape(shape_t shape) { *this = std::move(*this).reshaped(std::move(shape)); }

    // Every element converted to T (integers, floats and bools alike), e.g. for shape inputs.
    template <class T>
    std::vector<T> to_vector() const {
        std::vector<T> out(static_cast<std::size_t>(count_));
        visit_dtype(type_, [&](auto tag) {
            using S = decltype(tag);
            const S* src = reinterpret_cast<const S*>(data_.get());
            for (std::int64_t i = 0; i < count_; ++i) out[i] = convert<T>(src[i]);
        });
        return out;
    }

    // A copy with every element converted to `to`.
    tensor cast(dtype to) const {
        tensor out(to, shape_);
        visit_dtype(type_, [&](auto from_tag) {
            using S = decltype(from_tag);
            const S* src = reinterpret_cast<const S*>(data_.get());
            visit_dtype(to, [&](auto to_tag) {
                using D = decltype(to_tag);
                D* dst = reinterpret_cast<D*>(out.raw());
                for (std::int64_t i = 0; i < count_; ++i) dst[i] = convert<D>(src[i]);
            });
        });
        return out;
    }

    // One element converted to D. Float to integer saturates to D's range and maps NaN to 0:
    // a plain C++ conversion of an out-of-range float is undefined behaviour.
    template <class D, class S>
    static D convert(S v) {
        if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D> && !std::is_same_v<D, bool>) {
            if (v != v) return D{0};
            if (v <= static_cast<S>(std::numeric_limits<D>::lowest())) return std::numeric_limits<D>::lowest();
            if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
        }
        return static_cast<D>(v);
    }

private:
    template <class T>
    void check_type() const {
        if (dtype_of<std::remove_const_t<T>>() != type_)
            throw error(std::string("tensor holds ") + name_of(type_) + ", accessed as " +
                        name_of(dtype_of<std::remove_const_t<T>>()));
    }

    dtype type_ = dtype::float32;
    shape_t shape_;
    std::int64_t count_ = 0;
    std::unique_ptr<std::byte[]> data_;
};

}  // namespace ktc
