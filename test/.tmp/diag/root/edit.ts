import { helper } from "./_lib/helper.ts";
const rows = Array.from({ length: 1000 }, (_, n) => ({ n: n + 1000 }));
export default () => helper(rows[0].n);
