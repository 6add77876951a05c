// ktc/convert/keras/hdf5.hpp - the little of the HDF5 C library the Keras reader needs: open a
// file read-only, read string and string-list attributes, read a float dataset into a tensor.
//
// Every hid_t lives in an owning handle. HDF5 reports failures on an error stack and, by default,
// prints it to stderr: while a file is open its printing is switched off (and restored after), and
// a failure becomes a ktc::file_error naming the file, the object and HDF5's own innermost reason.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "ktc/core/error.hpp"
#include "ktc/core/tensor.hpp"

namespace ktc::convert::hdf5 {

// An owned hid_t closed by `close` (H5Fclose, H5Gclose, ...).
class handle {
public:
    using closer = herr_t (*)(hid_t);
    handle() = default;
    handle(hid_t id, closer close) : id_(id), close_(close) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    handle(handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
    handle& operator=(handle&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = std::exchange(o.id_, H5I_INVALID_HID);
            close_ = o.close_;
        }
        return *this;
    }
    ~handle() { reset(); }
    hid_t get() const { return id_; }
    explicit operator bool() const { return id_ >= 0; }

private:
    void reset() {
        if (id_ >= 0 && close_) close_(id_);
        id_ = H5I_INVALID_HID;
    }
    hid_t id_ = H5I_INVALID_HID;
    closer close_ = nullptr;
};

// Switches HDF5's automatic error printing off for its lifetime, restoring what was there.
class quiet_errors {
public:
    quiet_errors() {
        H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    quiet_errors(const quiet_errors&) = delete;
    quiet_errors& operator=(const quiet_errors&) = delete;
    ~quiet_errors() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }

private:
    H5E_auto2_t old_func_ = nullptr;
    void* old_data_ = nullptr;
};

namespace detail {

inline herr_t keep_innermost(unsigned n, const H5E_error2_t* e, void* out) {
    if (n == 0 && e && e->desc) *static_cast<std::string*>(out) = e->desc;
    return 0;
}

// HDF5's most specific reason for the last failure ("truncated file: eof = ...", ...).
inline std::string last_reason() {
    std::string reason;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, &keep_innermost, &reason);
    H5Eclear2(H5E_DEFAULT);
    return reason.empty() ? "HDF5 error" : reason;
}

}  // namespace detail

// One HDF5 file opened read-only. `path` names the file in every error.
class file {
public:
    explicit file(const std::filesystem::path& path) : path_(path.string()) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec)) fail("cannot open: no such file");
        size_ = std::filesystem::file_size(path, ec);
        if (H5Fis_hdf5(path_.c_str()) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            fail("not an HDF5 file (a Keras model saved by model.save is one)");
        }
        file_ = handle(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), &H5Fclose);
        if (!file_) fail("cannot open as HDF5: " + detail::last_reason());
    }

    const std::string& path() const { return path_; }
    hid_t id() const { return file_.get(); }

    [[noreturn]] void fail(const std::string& what) const { throw file_error(path_, what); }

    bool has_object(hid_t where, const std::string& name) const {
        return H5Lexists(where, name.c_str(), H5P_DEFAULT) > 0 &&
               H5Oexists_by_name(where, name.c_str(), H5P_DEFAULT) > 0;
    }
    handle open_group(hid_t where, const std::string& name) const {
        handle g(H5Gopen2(where, name.c_str(), H5P_DEFAULT), &H5Gclose);
        if (!g) fail("group '" + name + "': " + detail::last_reason());
        return g;
    }

    bool has_attribute(hid_t where, const std::string& name) const { return H5Aexists(where, name.c_str()) > 0; }
    // A scalar string attribute (fixed or variable length), e.g. the root's model_config.
    std::string string_attribute(hid_t where, const std::string& name) const {
        auto list = strings_attribute(where, name);
        if (list.size() != 1) fail("attribute '" + name + "' is not a single string");
        return list[0];
    }
    // A string or list-of-strings attribute; an empty attribute of any type is an empty list
    // (Keras writes a layer without weights as an empty float array). Keras splits a list too
    // long for one attribute into NAME0, NAME1, ...: those are joined.
    std::vector<std::string> strings_attribute(hid_t where, const std::string& name) const {
        if (has_attribute(where, name)) return read_strings(where, name);
        std::vector<std::string> joined;
        for (int chunk = 0; has_attribute(where, name + std::to_string(chunk)); ++chunk) {
            auto part = read_strings(where, name + std::to_string(chunk));
            joined.insert(joined.end(), part.begin(), part.end());
        }
        if (joined.empty() && !has_attribute(where, name + "0")) fail("attribute '" + name + "' is missing");
        return joined;
    }

    // A floating-point dataset (any width) read as float32 with its own shape. `label` names it in
    // errors (its full path, say).
    tensor float_dataset(hid_t where, const std::string& name, std::string label = {}) const {
        if (label.empty()) label = name;
        handle ds(H5Dopen2(where, name.c_str(), H5P_DEFAULT), &H5Dclose);
        if (!ds) fail("dataset '" + label + "': " + detail::last_reason());
        handle type(H5Dget_type(ds.get()), &H5Tclose);
        if (!type || H5Tget_class(type.get()) != H5T_FLOAT) fail("dataset '" + label + "' is not floating point");
        handle space(H5Dget_space(ds.get()), &H5Sclose);
        const int rank = space ? H5Sget_simple_extent_ndims(space.get()) : -1;
        if (rank < 0 || rank > 8) fail("dataset '" + label + "' has an unreadable or unsupported shape");
        std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
        H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
        shape_t shape(dims.begin(), dims.end());
        // Absurd sizes are refused before anything is allocated: beyond 2^31 elements, or far
        // beyond what the file could hold (Keras writes weights uncompressed).
        try {
            if (static_cast<std::uintmax_t>(element_count(shape)) * sizeof(float) > 1024 * size_ + (1u << 20))
                fail("dataset '" + label + "' claims " + to_string(shape) + " elements, far more than the file holds");
        } catch (const file_error&) {
            throw;
        } catch (const error& e) {
            fail("dataset '" + label + "': " + e.what());
        }
        tensor t(dtype::float32, shape);
        if (t.size() && H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw()) < 0)
            fail("dataset '" + label + "': " + detail::last_reason());
        return t;
    }

private:
    std::vector<std::string> read_strings(hid_t where, const std::string& name) const {
        handle attr(H5Aopen(where, name.c_str(), H5P_DEFAULT), &H5Aclose);
        if (!attr) fail("attribute '" + name + "': " + detail::last_reason());
        handle type(H5Aget_type(attr.get()), &H5Tclose);
        handle space(H5Aget_space(attr.get()), &H5Sclose);
        if (!type || !space) fail("attribute '" + name + "': " + detail::last_reason());
        const hssize_t count = H5Sget_simple_extent_npoints(space.get());
        if (count < 0 || count > (1 << 24)) fail("attribute '" + name + "' has an unreadable size");
        if (count == 0) return {};
        if (H5Tget_class(type.get()) != H5T_STRING) fail("attribute '" + name + "' is not text");
        const auto n = static_cast<std::size_t>(count);
        std::vector<std::string> out;
        if (H5Tis_variable_str(type.get()) > 0) {
            handle mem(H5Tcopy(H5T_C_S1), &H5Tclose);
            H5Tset_size(mem.get(), H5T_VARIABLE);
            H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
            std::vector<char*> ptrs(n, nullptr);
            if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0)
                fail("attribute '" + name + "': " + detail::last_reason());
            for (char* p : ptrs) out.emplace_back(p ? p : "");
            H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
        } else {
            const std::size_t width = H5Tget_size(type.get());
            if (width == 0 || width > size_ / n) fail("attribute '" + name + "' claims more bytes than the file holds");
            std::string buffer(width * n, '\0');
            if (H5Aread(attr.get(), type.get(), buffer.data()) < 0)
                fail("attribute '" + name + "': " + detail::last_reason());
            for (std::size_t i = 0; i < n; ++i) {
                std::string s = buffer.substr(i * width, width);
                s.resize(std::min(s.find('\0'), s.size()));  // fixed-length strings are NUL-padded
                out.push_back(std::move(s));
            }
        }
        return out;
    }

    std::string path_;
    std::uintmax_t size_ = 0;  // bytes on disk: no attribute can be larger
    quiet_errors quiet_;       // before file_: closing the file may still report errors
    handle file_;
};

}  // namespace ktc::convert::hdf5
