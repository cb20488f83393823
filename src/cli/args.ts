/**
 * A small argv parser for the CLI: flags (`--dev`, `--yes`), options with values (`-c FILE`, `--config=FILE`) and
 * positionals. Unknown flags are reported by the command, not here.
 */
export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string[]>;
  flags: Set<string>;
}

export function parseArgs(argv: string[], withValue: string[]): ParsedArgs {
  const out: ParsedArgs = { positionals: [], options: {}, flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith("-") && a !== "-") {
      const eq = a.indexOf("=");
      const name = (eq > 0 ? a.slice(0, eq) : a).replace(/^-+/, "");
      if (withValue.includes(name)) {
        const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (value === undefined) throw new Error(`option ${a} needs a value`);
        (out.options[name] ??= []).push(value);
      } else {
        out.flags.add(name);
      }
    } else {
      out.positionals.push(a);
    }
  }
  return out;
}

/** `-c` / `--config`, as Kratos. */
export const configFileOf = (args: ParsedArgs): string | undefined => args.options.c?.[0] ?? args.options.config?.[0];
