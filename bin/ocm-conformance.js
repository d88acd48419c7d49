#!/usr/bin/env node
// Entry of the `ocm-conformance` command. The project ships TypeScript sources
// and no build step: tsx's loader is registered here, then the CLI is loaded.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
