// zod/mini loads no locale, so issues zod words itself (an API answer of an unexpected shape) would
// all read "Invalid input". Imported for this effect by the modules that quote such issues.
// A module of its own: re-exporting a configured `z` would make webpack (ncc) keep all of zod.
import { en } from "zod/locales";
import * as z from "zod/mini";

z.config(en());
