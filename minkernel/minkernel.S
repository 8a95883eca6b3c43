/*
 * minkernel: the do-nothing baseline guest. Multiboot v1 (qemu -kernel, -M pc or
 * microvm) and PVH (ELF note) entry, 32-bit protected mode, no C, no stack use
 * beyond calls. Writes its ready line to COM1 and a ready sequence to the debug
 * port 0xe9, then halts forever (service mode); when the boot command line
 * contains "exit", leaves QEMU through isa-debug-exit (port 0xf4); when it contains
 * "beat", prints BS-BEAT on COM1 every ms (LAPIC timer; after 1000, every 100 ms), so a
 * restored copy shows it runs.
 * Not for: anything else. Its exact output is documented in minkernel/README.md.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000000
#define MB_BOOT_EAX 0x2BADB002
#define PVH_MAGIC 0x336ec578
#define COM1 0x3f8
#define DEBUGCON 0xe9
#define DEBUG_EXIT 0xf4
#define LAPIC 0xfee00000
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TMR_INIT 0x380
#define LAPIC_TMR_DIV 0x3e0
#define BEAT_VEC 0x20
#define BEAT_NS 1000000 /* QEMU's and KVM's LAPIC timer count 1 ns per tick at divide 1 */
#define BEAT_FAST 1000  /* beats at BEAT_NS, then one every BEAT_SLOW_NS: a beating guest
                         * costs a tenth of a core under a software KVM */
#define BEAT_SLOW_NS 100000000

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
    /* Look for "exit" or "beat" anywhere in the command line. */
2:  movb (%esi), %al
    test %al, %al
    jz halt
    cmpl $0x74697865, (%esi)   /* "exit" little-endian */
    je do_exit
    cmpl $0x74616562, (%esi)   /* "beat" little-endian */
    je do_beat
    inc %esi
    jmp 2b

do_beat:
    /* Our own GDT (the loader's may be gone) and an IDT whose every gate is the timer's. */
    lgdt gdt_desc
    ljmp $0x08, $4f
4:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $idt, %edi
    mov $256, %ecx
5:  mov $beat_irq, %eax
    mov %ax, (%edi)            /* offset 15:0 */
    movw $0x08, 2(%edi)        /* code selector */
    movw $0x8e00, 4(%edi)      /* present, ring 0, 32-bit interrupt gate */
    shr $16, %eax
    mov %ax, 6(%edi)           /* offset 31:16 */
    add $8, %edi
    loop 5b
    lidt idt_desc
    /* LAPIC on (software enable, spurious vector 0xff), periodic timer every BEAT_NS. */
    movl $0x1ff, LAPIC + LAPIC_SVR
    movl $0xb, LAPIC + LAPIC_TMR_DIV           /* divide by 1 */
    movl $(0x20000 | BEAT_VEC), LAPIC + LAPIC_LVT_TIMER
    movl $BEAT_FAST, beats_left
    movl $BEAT_NS, LAPIC + LAPIC_TMR_INIT
6:  sti
    hlt                        /* sti's shadow: no tick is lost between them */
    jmp 6b

/* The only way here is a tick taken in that hlt (IF is 0 everywhere else; the gate
 * clears it), so the handler drops its frame and loops instead of returning: this
 * host's software KVM cannot emulate iret. */
beat_irq:
    movl $0, LAPIC + LAPIC_EOI
    add $12, %esp              /* eip, cs, eflags */
    decl beats_left
    jnz 7f
    movl $BEAT_SLOW_NS, LAPIC + LAPIC_TMR_INIT /* restarts the periodic timer, slower */
7:
    mov $COM1, %dx
    mov $line_beat, %esi
    call puts_port
    jmp 6b

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
line_beat:   .asciz "BS-BEAT\n"

    .align 8
gdt:         .quad 0
             .quad 0x00cf9a000000ffff  /* 0x08: flat 32-bit code */
             .quad 0x00cf92000000ffff  /* 0x10: flat data */
gdt_desc:    .word gdt_desc - gdt - 1
             .long gdt
idt_desc:    .word 256 * 8 - 1
             .long idt

    .bss
    .align 16
idt:
    .skip 256 * 8
beats_left:
    .skip 4
    .skip 256
stack_top:
