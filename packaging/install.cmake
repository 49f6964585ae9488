# Run by `cmake --install` (packaging/CMakeLists.txt sets OSQ_PKG_* first).
# Paths are worked out here, at install time, so that `--prefix` given to
# `cmake --install` moves every file, and DESTDIR stages them all.
#
# The configuration directory follows GNUInstallDirs: /etc/osq for the
# prefixes / and /usr, /etc/opt/<name>/osq for /opt/<name>, and
# <prefix>/etc/osq otherwise (or CMAKE_INSTALL_SYSCONFDIR if absolute).
# An existing osq.flags or osq.conf is never overwritten.
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
if(IS_ABSOLUTE "${OSQ_PKG_SYSCONFDIR}")
  set(sysconf "${OSQ_PKG_SYSCONFDIR}")
elseif(prefix STREQUAL "" OR prefix STREQUAL "/usr")
  set(sysconf "/etc")
elseif(prefix MATCHES "^/opt/")
  set(sysconf "/etc${prefix}")
else()
  set(sysconf "${prefix}/${OSQ_PKG_SYSCONFDIR}")
endif()
set(OSQ_SYSCONF_DIR "${sysconf}/osq")
set(OSQ_BIN_DIR "${prefix}/${OSQ_PKG_BINDIR}")
set(OSQ_DOC_DIR "${prefix}/${OSQ_PKG_DOCDIR}")

set(staged "${OSQ_PKG_BUILD}/staged")
configure_file("${OSQ_PKG_SOURCE}/osq.flags.in" "${staged}/osq.flags" @ONLY)
configure_file("${OSQ_PKG_SOURCE}/osqd.service" "${staged}/osqd.service" @ONLY)
configure_file("${OSQ_PKG_SOURCE}/osq.conf.example" "${staged}/osq.conf" COPYONLY)

# file(INSTALL) adds $DESTDIR to an absolute destination itself; the
# existence checks must add it by hand.
set(root "$ENV{DESTDIR}")
foreach(name osq.flags osq.conf)
  if(EXISTS "${root}${OSQ_SYSCONF_DIR}/${name}")
    message(STATUS "Keeping: ${root}${OSQ_SYSCONF_DIR}/${name}")
  else()
    file(INSTALL "${staged}/${name}" DESTINATION "${OSQ_SYSCONF_DIR}"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
  endif()
endforeach()
file(INSTALL "${staged}/osqd.service"
     DESTINATION "${prefix}/${OSQ_PKG_UNITDIR}")

if(OSQ_PKG_OSQUERY_NAMES)
  # osqueryi and osqueryd beside osqi and osqd: run under these names,
  # they use osquery's paths (docs/shell.md, "Drop-in")
  foreach(pair "osqi;osqueryi" "osqd;osqueryd")
    list(GET pair 0 target)
    list(GET pair 1 link)
    set(dest "${root}${OSQ_BIN_DIR}/${link}")
    message(STATUS "Installing: ${dest} -> ${target}")
    file(MAKE_DIRECTORY "${root}${OSQ_BIN_DIR}")
    file(REMOVE "${dest}")
    file(CREATE_LINK "${target}" "${dest}" SYMBOLIC)
  endforeach()
endif()
