# The RTL TLB: the library mmusim_rtl, with the lockstep checker and the
# adapter (always compiled; without Verilator the adapter only says that the
# build has no RTL), and with MMUSIM_RTL=ON one verilated C++ model (no
# SystemC) per variant in MMUSIM_RTL_TLB_VARIANTS. It depends on the models
# (the TlbModel interface, the C++ TLB, the configuration), never the reverse.
#
# Included from the top-level CMakeLists.txt after mmusim_models is defined.

add_library(mmusim_rtl STATIC ${CMAKE_CURRENT_LIST_DIR}/rtl_tlb.cc ${CMAKE_CURRENT_LIST_DIR}/lockstep_tlb.cc
                              ${CMAKE_CURRENT_LIST_DIR}/rtl_ptw.cc ${CMAKE_CURRENT_LIST_DIR}/lockstep_ptw.cc)
target_include_directories(mmusim_rtl PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(mmusim_rtl PUBLIC mmusim_models)

if(NOT MMUSIM_RTL)
  return()
endif()

# Verilator fixes the parameters when it translates the RTL: each variant
# "ENTRIESxWAYS:POLICY" is verilated on its own, and the adapter picks the one
# that tlb.l1.entries / ways / policy ask for (--tlb rtl and lockstep stop with
# exit 2, listing the variants, if there is none). The first three are the
# default L1 (64 entries, 4 ways) under each policy the RTL implements.
set(MMUSIM_RTL_TLB_VARIANTS
    "64x4:lru;64x4:plru;64x4:fifo;32x32:lru;32x32:plru;16x16:fifo;36x3:lru;36x3:fifo"
    CACHE STRING "RTL TLB variants to verilate: ENTRIESxWAYS:POLICY (lru, plru, fifo), ';'-separated")

set(_rtl_sources ${CMAKE_CURRENT_LIST_DIR}/tlb_pkg.sv ${CMAKE_CURRENT_LIST_DIR}/tlb.sv)
set(_rtl_includes "")
set(_rtl_table "")

# Under the sanitizers the generated model code is compiled without them: it
# is Verilator's code, not ours, and instrumenting it made the sanitizer build
# the longest phase of the tests (one 650 KB file: 26 s against 6.5 s). The
# adapters that drive the models, and Verilator's run-time, stay instrumented.
set(_verilated_opt "")
if(MMUSIM_SANITIZE)
  set(_verilated_opt OPT_FAST -fno-sanitize=all OPT_SLOW -fno-sanitize=all)
endif()
foreach(_variant ${MMUSIM_RTL_TLB_VARIANTS})
  if(NOT _variant MATCHES "^([0-9]+)x([0-9]+):(lru|plru|fifo)$")
    message(FATAL_ERROR "MMUSIM_RTL_TLB_VARIANTS: '${_variant}' is not ENTRIESxWAYS:lru|plru|fifo")
  endif()
  set(_entries ${CMAKE_MATCH_1})
  set(_ways ${CMAKE_MATCH_2})
  set(_policy ${CMAKE_MATCH_3})
  math(EXPR _rem "${_entries} % ${_ways}")
  if(_ways EQUAL 0 OR _entries LESS _ways OR NOT _rem EQUAL 0)
    message(FATAL_ERROR "MMUSIM_RTL_TLB_VARIANTS: '${_variant}': ways must divide entries")
  endif()
  # tlb_pkg::repl_e: ReplLru = 0, ReplPlru = 1, ReplFifo = 2. Verilator's -G
  # takes numbers only, hence -Wno-ENUMVALUE for this one parameter.
  if(_policy STREQUAL "lru")
    set(_pnum 0)
    set(_penum Lru)
  elseif(_policy STREQUAL "plru")
    set(_pnum 1)
    set(_penum Plru)
  else()
    set(_pnum 2)
    set(_penum Fifo)
  endif()
  set(_prefix Vtlb_${_entries}x${_ways}_${_policy})
  verilate(mmusim_rtl
    SOURCES ${_rtl_sources}
    TOP_MODULE tlb
    ${_verilated_opt}
    PREFIX ${_prefix}
    INCLUDE_DIRS ${CMAKE_CURRENT_LIST_DIR}
    TRACE
    VERILATOR_ARGS -Wall -Wno-fatal -Wno-ENUMVALUE --assert -O3 --x-assign fast --x-initial fast
                   -GEntries=${_entries} -GWays=${_ways} -GPolicy=2'd${_pnum} -GVpnWidth=52
                   -GPpnWidth=44 -GAsidWidth=16)
  string(APPEND _rtl_includes "#include \"${_prefix}.h\"\n#include \"${_prefix}___024root.h\"\n")
  string(APPEND _rtl_table "  X(${_prefix}, ${_entries}, ${_ways}, ${_penum}) \\\n")
endforeach()

# The RTL page-table walker: one verilated model per "MODE:PWC" (mmu.mode,
# mmu.pwc_entries) in MMUSIM_RTL_PTW_VARIANTS, and four faulty variants (a
# PTW_BUG_* define each, rtl/ptw.sv) that the lockstep checker's tests must
# catch. mmu.nonleaf_wp is a pin, not a parameter.
set(MMUSIM_RTL_PTW_VARIANTS "sv39:16;sv48:16;sv39:4;sv48:4;sv39:0"
    CACHE STRING "RTL walker variants to verilate: MODE:PWC_ENTRIES (MODE sv39 or sv48), ';'-separated")
set(_ptw_includes "")
set(_ptw_table "")
foreach(_variant ${MMUSIM_RTL_PTW_VARIANTS} "sv39:4:align" "sv39:4:lost_dirty" "sv39:4:stale_pwc" "sv39:4:sum")
  if(NOT _variant MATCHES "^(sv39|sv48):([0-9]+)(:(align|lost_dirty|stale_pwc|sum))?$")
    message(FATAL_ERROR "MMUSIM_RTL_PTW_VARIANTS: '${_variant}' is not sv39|sv48:PWC_ENTRIES")
  endif()
  set(_mode ${CMAKE_MATCH_1})
  set(_pwc ${CMAKE_MATCH_2})
  set(_bug "${CMAKE_MATCH_4}")
  if(_mode STREQUAL "sv39")
    set(_levels 3)
    set(_menum Sv39)
  else()
    set(_levels 4)
    set(_menum Sv48)
  endif()
  set(_prefix Vptw_${_mode}_${_pwc})
  set(_defines "")
  set(_benum None)
  if(_bug STREQUAL "align")
    set(_defines -DPTW_BUG_ALIGN)
    set(_benum Align)
  elseif(_bug STREQUAL "lost_dirty")
    set(_defines -DPTW_BUG_LOST_DIRTY)
    set(_benum LostDirty)
  elseif(_bug STREQUAL "stale_pwc")
    set(_defines -DPTW_BUG_STALE_PWC)
    set(_benum StalePwc)
  elseif(_bug STREQUAL "sum")
    set(_defines -DPTW_BUG_SUM)
    set(_benum Sum)
  endif()
  if(_bug)
    set(_prefix ${_prefix}_${_bug})
  endif()
  verilate(mmusim_rtl
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/ptw.sv
    TOP_MODULE ptw
    ${_verilated_opt}
    PREFIX ${_prefix}
    TRACE
    VERILATOR_ARGS -Wall -Wno-fatal --assert -O3 --x-assign fast --x-initial fast ${_defines}
                   -GLevels=${_levels} -GPwcEntries=${_pwc} -GVpnWidth=52 -GPpnWidth=44 -GAsidWidth=16)
  string(APPEND _ptw_includes "#include \"${_prefix}.h\"\n#include \"${_prefix}___024root.h\"\n")
  string(APPEND _ptw_table "  X(${_prefix}, ${_menum}, ${_pwc}, ${_benum}) \\\n")
endforeach()

# Verilator's own headers and run-time sources are not ours to warn about (-Wextra).
target_include_directories(mmusim_rtl SYSTEM PUBLIC ${VERILATOR_ROOT}/include ${VERILATOR_ROOT}/include/vltstd)
foreach(_src verilated.cpp verilated_dpi.cpp verilated_threads.cpp verilated_vcd_c.cpp)
  set_property(SOURCE ${VERILATOR_ROOT}/include/${_src} APPEND PROPERTY COMPILE_OPTIONS -w)
endforeach()

# Verilator's trace code keeps 64-bit values at 4-byte-aligned addresses
# (verilated_trace_imp.h, generated *__Trace*.cpp), which UBSan's alignment
# check rejects; that is Verilator's business, not checked here.
if(MMUSIM_SANITIZE)
  get_target_property(_all_sources mmusim_rtl SOURCES)
  foreach(_src ${_all_sources})
    if(_src MATCHES "__Trace.*\\.cpp$" OR _src MATCHES "verilated_vcd_c\\.cpp$")
      set_property(SOURCE ${_src} APPEND PROPERTY COMPILE_OPTIONS -fno-sanitize=alignment)
    endif()
  endforeach()
endif()

set(MMUSIM_RTL_VARIANT_INCLUDES "${_rtl_includes}")
set(MMUSIM_RTL_VARIANT_TABLE "${_rtl_table}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/rtl_tlb_variants.h.in
               ${CMAKE_BINARY_DIR}/generated/rtl_tlb_variants.h @ONLY)
set(MMUSIM_RTL_PTW_VARIANT_INCLUDES "${_ptw_includes}")
set(MMUSIM_RTL_PTW_VARIANT_TABLE "${_ptw_table}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/rtl_ptw_variants.h.in
               ${CMAKE_BINARY_DIR}/generated/rtl_ptw_variants.h @ONLY)
target_include_directories(mmusim_rtl PRIVATE ${CMAKE_BINARY_DIR}/generated)
target_compile_definitions(mmusim_rtl PUBLIC MMUSIM_HAVE_RTL)
