// The version every part of ngxlua reports.
export const VERSION = '0.1.0';
export const SERVER_TOKEN = `ngxlua/${VERSION}`;
