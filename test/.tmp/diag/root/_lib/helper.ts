export const helper = (n) => n + 6 * 0;
