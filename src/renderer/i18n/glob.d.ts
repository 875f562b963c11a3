/** Vite's `import.meta.glob` (vite/client declares it too; the renderer's tsconfig loads no ambient types). */
declare global {
  interface ImportMeta {
    glob<T>(pattern: string, options: { eager: true; import: 'default' }): Record<string, T>
  }
}

export {}
