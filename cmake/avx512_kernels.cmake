# cmake/avx512_kernels.cmake - the kernel families once more, for AVX-512 with VNNI and VBMI, linked
# into ktc_compiled as one object whose only global symbols are its two tables (src/isa/avx512.cpp).
#
# The copy includes the same headers as the baseline build, so both define the same inline
# functions (the standard library's, Eigen's, ktc's) compiled for different CPUs. Linked as they
# are, the linker would keep one definition of each, perhaps the AVX-512 one, and the baseline
# kernels would then run AVX-512 instructions on a CPU without them. So the copy's objects are
# first linked into one relocatable object with their section groups dissolved
# (--force-group-allocation), then every symbol it defines but the two tables is made local: the
# copy calls only its own definitions, and the rest of ktc never sees them.
file(GLOB KTC_KERNEL_FAMILY_SOURCES CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/src/fixed_*.cpp ${PROJECT_SOURCE_DIR}/src/float_*.cpp)
add_library(ktc_kernels_avx512 OBJECT ${KTC_KERNEL_FAMILY_SOURCES} ${PROJECT_SOURCE_DIR}/src/isa/avx512.cpp)
target_link_libraries(ktc_kernels_avx512 PRIVATE ktc::ktc)
target_compile_definitions(ktc_kernels_avx512 PRIVATE KTC_SEPARATE_COMPILATION)
# -fno-gnu-unique (GCC; Clang emits no such symbols): the static locals of inline functions become
# plain weak symbols, which objcopy makes local below (it leaves "unique" ones global, and they
# would clash with the baseline's).
target_compile_options(ktc_kernels_avx512 PRIVATE ${KTC_WARNINGS} ${KTC_AVX512_FLAGS} $<$<CXX_COMPILER_ID:GNU>:-fno-gnu-unique>)
add_dependencies(ktc_kernels_avx512 ktc_layers)

set(KTC_AVX512_OBJECT ${PROJECT_BINARY_DIR}/ktc_kernels_avx512.o)
add_custom_command(OUTPUT ${KTC_AVX512_OBJECT}
  COMMAND ${CMAKE_LINKER} -r --force-group-allocation -o ${KTC_AVX512_OBJECT}.all
          $<TARGET_OBJECTS:ktc_kernels_avx512>
  COMMAND ${CMAKE_OBJCOPY} --keep-global-symbol=ktc_avx512_float_kernels
          --keep-global-symbol=ktc_avx512_fixed_kernels ${KTC_AVX512_OBJECT}.all ${KTC_AVX512_OBJECT}
  DEPENDS ktc_kernels_avx512 $<TARGET_OBJECTS:ktc_kernels_avx512>
  COMMAND_EXPAND_LISTS VERBATIM
  COMMENT "Linking the AVX-512 copy of the kernels (cmake/avx512_kernels.cmake)")
target_sources(ktc_compiled PRIVATE ${KTC_AVX512_OBJECT})
target_compile_definitions(ktc_compiled PRIVATE KTC_AVX512_KERNELS=1)
