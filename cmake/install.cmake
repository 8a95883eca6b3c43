# Install rules and the CPack .deb (docs/INSTALL.md). The installed tree keeps the
# build tree's layout in a private prefix, so every program finds its siblings as it
# does in build/ (common/paths.h: <prefix>/bin, /share, /guests, /images), and the
# files that are not programs live where Debian expects them:
#
#   PREFIX/lib/bootstorm/bin/     the five programs (real files)
#   PREFIX/lib/bootstorm/images/  built guest images (minkernel, the Linux guest, ...)
#   PREFIX/lib/bootstorm/share -> ../../share/bootstorm
#   PREFIX/lib/bootstorm/guests -> ../../share/bootstorm/guests
#   PREFIX/share/bootstorm/       bootstorm.lua, redis.conf, scenarios/, guests/
#   PREFIX/bin/bootstorm{,-collector,-launcher} -> ../lib/bootstorm/bin/...
#
# /proc/self/exe resolves the symlinks in PREFIX/bin, so the prefix the programs see is
# PREFIX/lib/bootstorm. All links are relative: the tree works under any PREFIX and
# unpacked anywhere (dpkg-deb -x).

set(BS_PRIV lib/bootstorm)
set(BS_SHARE share/bootstorm)

install(TARGETS bootstorm bootstorm-collector bootstorm-launcher bootstorm-simguest bootstorm-oci
        RUNTIME DESTINATION ${BS_PRIV}/bin)

install(FILES ${CMAKE_SOURCE_DIR}/redis/bootstorm.lua ${CMAKE_SOURCE_DIR}/redis/redis.conf
        DESTINATION ${BS_SHARE})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/scenarios/ DESTINATION ${BS_SHARE}/scenarios)
file(GLOB BS_INSTALL_PROFILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/guests/*.yaml)
install(FILES ${BS_INSTALL_PROFILES} DESTINATION ${BS_SHARE}/guests)

# Images as the build lays them out; the Linux guest and the container bundle are
# built from Debian packages and may be missing (BS_SOFT): OPTIONAL.
install(FILES ${CMAKE_BINARY_DIR}/images/minkernel.elf DESTINATION ${BS_PRIV}/images)
install(FILES ${CMAKE_BINARY_DIR}/images/linux-vmlinux
              ${CMAKE_BINARY_DIR}/images/linux-initramfs.cpio.gz
        DESTINATION ${BS_PRIV}/images OPTIONAL)
install(DIRECTORY ${CMAKE_BINARY_DIR}/images/container-bundle DESTINATION ${BS_PRIV}/images
        OPTIONAL USE_SOURCE_PERMISSIONS)

install(FILES ${CMAKE_SOURCE_DIR}/docs/man/bootstorm.1 ${CMAKE_SOURCE_DIR}/docs/man/bootstorm-collector.1
              ${CMAKE_SOURCE_DIR}/docs/man/bootstorm-launcher.1
              ${CMAKE_SOURCE_DIR}/docs/man/bootstorm-simguest.1
        DESTINATION share/man/man1)
install(FILES ${CMAKE_SOURCE_DIR}/scripts/bootstorm.bash-completion
        DESTINATION share/bash-completion/completions RENAME bootstorm)
file(GLOB BS_INSTALL_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/redis/SCHEMA.md ${BS_INSTALL_DOCS}
        DESTINATION share/doc/bootstorm)

# The relative links, made at install time under DESTDIR (cpack stages with DESTDIR).
install(CODE [[
    set(root "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
    file(MAKE_DIRECTORY "${root}/bin" "${root}/lib/bootstorm")
    foreach(pair "lib/bootstorm/share=../../share/bootstorm"
                 "lib/bootstorm/guests=../../share/bootstorm/guests"
                 "bin/bootstorm=../lib/bootstorm/bin/bootstorm"
                 "bin/bootstorm-collector=../lib/bootstorm/bin/bootstorm-collector"
                 "bin/bootstorm-launcher=../lib/bootstorm/bin/bootstorm-launcher")
        string(REPLACE "=" ";" pair "${pair}")
        list(GET pair 0 link)
        list(GET pair 1 target)
        file(REMOVE "${root}/${link}")
        message(STATUS "Installing: ${root}/${link} -> ${target}")
        file(CREATE_LINK "${target}" "${root}/${link}" SYMBOLIC)
    endforeach()
]])

# The .deb: `cpack -G DEB` in the build dir. Depends: the shared libraries the programs
# load (checked against their NEEDED entries by tests/integration/test_install.sh).
# Recommends: redis-server and qemu-system-x86, which the default embedded storm
# uses but a launcher-only host (process or libvirt backend) or a collector talking to
# a remote Redis does not need: apt installs Recommends by default, fleet hosts can say
# --no-install-recommends.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME bootstorm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "bootstorm developers <bootstorm@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "boot-storm load generator and collector for VM guests")
set(CPACK_PACKAGE_DESCRIPTION
    "Launchers start hundreds of guests at once (QEMU/KVM, libvirt, processes), stamp
their consoles and send MessagePack events over ZeroMQ to a collector, which stores
them in Redis; the bootstorm command runs scenarios and reports boot times.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(BS_DEB_DEPENDS "libc6, libzmq5, libmsgpackc2, libhiredis0.14, libfyaml0, libpcre2-8-0, libcurl4, libjansson4")
if(LIBVIRT_FOUND)
    string(APPEND BS_DEB_DEPENDS ", libvirt0")
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${BS_DEB_DEPENDS}")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-server (>= 5:7.0), qemu-system-x86")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "gnuplot-nox, libvirt-daemon-system, crun, ansible")
set(CPACK_POST_BUILD_SCRIPTS ${CMAKE_SOURCE_DIR}/cmake/deb-installed-size.cmake)
include(CPack)
