import { helper } from "./_lib/helper.ts";
interface Row { n: number }
const rows: Row[] = Array.from({ length: 1000 }, (_, n) => ({ n: n + 994 }));
export default () => helper(rows[0].n);
