/*
 * minkernel: the do-nothing baseline guest. Multiboot v1 (qemu -kernel, -M pc or
 * microvm) and PVH (ELF note) entry, 32-bit protected mode, no C, no stack use
 * beyond calls. Writes its ready line to COM1 and a ready sequence to the debug
 * port 0xe9, then halts forever (service mode) or, when the boot command line
 * contains "exit", leaves QEMU through isa-debug-exit (port 0xf4).
 * Not for: anything else. Its exact output is documented in minkernel/README.md.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000000
#define MB_BOOT_EAX 0x2BADB002
#define PVH_MAGIC 0x336ec578
#define COM1 0x3f8
#define DEBUGCON 0xe9
#define DEBUG_EXIT 0xf4

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    /* PVH entry (XEN_ELFNOTE_PHYS32_ENTRY = 18) for loaders that prefer it. */
    .section .note.pvh, "a"
    .align 4
    .long 4          /* name size */
    .long 4          /* desc size */
    .long 18         /* type */
    .asciz "Xen"
    .long pvh_start

    .text
    .code32
    .globl _start
_start:
    /* Multiboot: eax = magic, ebx = info; flags bit 2 says cmdline at +16. */
    xor %esi, %esi
    cmp $MB_BOOT_EAX, %eax
    jne 1f
    testl $4, (%ebx)
    jz 1f
    mov 16(%ebx), %esi
1:  jmp main

pvh_start:
    /* PVH: ebx = hvm_start_info; magic at +0, cmdline_paddr (low 32 bits) at +24. */
    xor %esi, %esi
    cmpl $PVH_MAGIC, (%ebx)
    jne main
    mov 24(%ebx), %esi

main:
    cli
    mov $stack_top, %esp
    push %esi                  /* keep the cmdline pointer (0 if none) */
    mov $COM1, %dx
    mov $line_entry, %esi
    call puts_port
    mov $line_ready, %esi
    call puts_port
    mov $DEBUGCON, %dx
    mov $debug_ready, %esi
    call puts_port
    pop %esi
    test %esi, %esi
    jz halt
    /* Look for "exit" anywhere in the command line. */
2:  movb (%esi), %al
    test %al, %al
    jz halt
    cmpl $0x74697865, (%esi)   /* "exit" little-endian */
    je do_exit
    inc %esi
    jmp 2b

do_exit:
    mov $COM1, %dx
    mov $line_exit, %esi
    call puts_port
    mov $DEBUG_EXIT, %dx
    xor %eax, %eax             /* QEMU exits with status (0 << 1) | 1 = 1 */
    outl %eax, %dx
halt:
    hlt
    jmp halt

/* puts_port: write the NUL-terminated string at esi to I/O port dx. */
puts_port:
    lodsb
    test %al, %al
    jz 3f
    outb %al, %dx
    jmp puts_port
3:  ret

    .section .rodata
line_entry:  .asciz "minkernel: entry\n"
line_ready:  .asciz "BOOTSTORM READY minkernel\n"
line_exit:   .asciz "minkernel: exit\n"
debug_ready: .asciz "BSRDY\n"

    .bss
    .align 16
    .skip 256
stack_top:
