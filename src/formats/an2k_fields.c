/*
 * an2k_fields.c - names of the well-known ANSI/NIST-ITL 1-2011 record
 * types and fields, for dumps and messages.
 *
 * Contract: lookups by (record type, field number) return static strings
 * or NULL.  The table covers the fields of Types 1, 2, 9 (standard part),
 * 10, 13, 14, 15, 16 and 17 that huella reads or that commonly appear
 * (ANSI/NIST-ITL 1-2011 Tables 11, 25, 31, 33, 34, 35, 36, 38 and 41);
 * unknown fields are shown by tag only.
 */
#include "formats/an2k_internal.h"

typedef struct field_name {
    unsigned short type;
    unsigned short number;
    const char *mnemonic;
    const char *name;
} field_name;

/* Fields common to the tagged image records 13, 14, 15 (and mostly 16). */
#define FRICTION_RIDGE(T, what)                                                                    \
    {T, 1, "LEN", "record length"}, {T, 2, "IDC", "information designation character"},            \
        {T, 3, "IMP", "impression type"}, {T, 4, "SRC", "source agency"}, {T, 5, "CD", what},      \
        {T, 6, "HLL", "horizontal line length"}, {T, 7, "VLL", "vertical line length"},            \
        {T, 8, "SLC", "scale units"}, {T, 9, "THPS", "transmitted horizontal pixel scale"},        \
        {T, 10, "TVPS", "transmitted vertical pixel scale"},                                       \
        {T, 11, "CGA", "compression algorithm"}, {T, 12, "BPX", "bits per pixel"},                 \
        {T, 13, "FGP", "friction ridge generalized position"},                                     \
        {T, 16, "SHPS", "scanned horizontal pixel scale"},                                         \
        {T, 17, "SVPS", "scanned vertical pixel scale"}, {T, 20, "COM", "comment"},                \
        {T, 902, "ANN", "annotation information"}, {T, 903, "DUI", "device unique identifier"},    \
        {T, 904, "MMS", "make/model/serial number"},                                               \
    {                                                                                              \
        T, 999, "DATA", "image data"                                                               \
    }

static const field_name names[] = {
    {1, 1, "LEN", "record length"},
    {1, 2, "VER", "version number"},
    {1, 3, "CNT", "transaction content"},
    {1, 4, "TOT", "type of transaction"},
    {1, 5, "DAT", "date"},
    {1, 6, "PRY", "priority"},
    {1, 7, "DAI", "destination agency identifier"},
    {1, 8, "ORI", "originating agency identifier"},
    {1, 9, "TCN", "transaction control number"},
    {1, 10, "TCR", "transaction control reference"},
    {1, 11, "NSR", "native scanning resolution"},
    {1, 12, "NTR", "nominal transmitting resolution"},
    {1, 13, "DOM", "domain name"},
    {1, 14, "GMT", "greenwich mean time"},
    {1, 15, "DCS", "directory of character sets"},
    {1, 16, "APS", "application profile specifications"},
    {1, 17, "ANM", "agency names"},
    {1, 18, "GNS", "geographic name set"},
    {2, 1, "LEN", "record length"},
    {2, 2, "IDC", "information designation character"},
    {9, 1, "LEN", "record length"},
    {9, 2, "IDC", "information designation character"},
    {9, 3, "IMP", "impression type"},
    {9, 4, "FMT", "minutiae format"},
    {9, 5, "OFR", "originating fingerprint reading system"},
    {9, 6, "FGP", "finger position"},
    {9, 7, "FPC", "fingerprint pattern classification"},
    {9, 8, "CRP", "core position"},
    {9, 9, "DLT", "delta position"},
    {9, 10, "MIN", "number of minutiae"},
    {9, 11, "RDG", "minutiae ridge count indicator"},
    {9, 12, "MRC", "minutiae and ridge count data"},
    {9, 126, "CBI", "INCITS 378 CBEFF information"},
    {9, 127, "CEI", "INCITS 378 capture equipment identification"},
    {9, 128, "HLL", "INCITS 378 horizontal line length"},
    {9, 129, "VLL", "INCITS 378 vertical line length"},
    {9, 130, "SLC", "INCITS 378 scale units"},
    {9, 131, "THPS", "INCITS 378 transmitted horizontal pixel scale"},
    {9, 132, "TVPS", "INCITS 378 transmitted vertical pixel scale"},
    {9, 133, "FVW", "INCITS 378 finger view"},
    {9, 134, "FGP", "INCITS 378 finger position"},
    {9, 135, "FQD", "INCITS 378 finger quality"},
    {9, 136, "NOM", "INCITS 378 number of minutiae"},
    {9, 137, "FMD", "INCITS 378 finger minutiae data"},
    {9, 138, "RCI", "INCITS 378 ridge count information"},
    {9, 139, "CIN", "INCITS 378 core information"},
    {9, 140, "DIN", "INCITS 378 delta information"},
    {9, 141, "ADA", "INCITS 378 additional delta angles"},
    {10, 1, "LEN", "record length"},
    {10, 2, "IDC", "information designation character"},
    {10, 3, "IMT", "image type"},
    {10, 4, "SRC", "source agency"},
    {10, 5, "PHD", "photo capture date"},
    {10, 6, "HLL", "horizontal line length"},
    {10, 7, "VLL", "vertical line length"},
    {10, 8, "SLC", "scale units"},
    {10, 9, "THPS", "transmitted horizontal pixel scale"},
    {10, 10, "TVPS", "transmitted vertical pixel scale"},
    {10, 11, "CGA", "compression algorithm"},
    {10, 12, "CSP", "color space"},
    {10, 13, "SAP", "subject acquisition profile"},
    {10, 14, "FIP", "face image bounding box"},
    {10, 16, "SHPS", "scanned horizontal pixel scale"},
    {10, 17, "SVPS", "scanned vertical pixel scale"},
    {10, 18, "DIST", "distortion"},
    {10, 19, "LAF", "lighting artifacts"},
    {10, 20, "POS", "subject pose"},
    {10, 21, "POA", "pose offset angle"},
    {10, 23, "PAS", "photo acquisition source"},
    {10, 24, "SQS", "subject quality score"},
    {10, 25, "SPA", "subject pose angles"},
    {10, 26, "SXS", "subject facial description"},
    {10, 27, "SEC", "subject eye color"},
    {10, 28, "SHC", "subject hair color"},
    {10, 29, "FFP", "2D facial feature points"},
    {10, 30, "DMM", "device monitoring mode"},
    {10, 31, "TMC", "tiered markup collection"},
    {10, 32, "3DF", "3D facial feature points"},
    {10, 33, "FEC", "feature contours"},
    {10, 38, "COM", "comment"},
    {10, 39, "T10", "Type-10 reference number"},
    {10, 40, "SMT", "NCIC designation code"},
    {10, 41, "SMS", "scar/mark/tattoo size"},
    {10, 42, "SMD", "SMT descriptors"},
    {10, 43, "COL", "tattoo color"},
    {10, 44, "ITX", "image transform"},
    {10, 45, "OCC", "occlusions"},
    {10, 902, "ANN", "annotation information"},
    {10, 903, "DUI", "device unique identifier"},
    {10, 904, "MMS", "make/model/serial number"},
    {10, 999, "DATA", "image data"},
    FRICTION_RIDGE(13, "latent capture date"),
    {13, 14, "SPD", "search position descriptors"},
    {13, 15, "PPC", "print position coordinates"},
    {13, 24, "LQM", "latent quality metric"},
    FRICTION_RIDGE(14, "fingerprint capture date"),
    {14, 14, "PPD", "print position descriptors"},
    {14, 15, "PPC", "print position coordinates"},
    {14, 18, "AMP", "amputated or bandaged"},
    {14, 21, "SEG", "finger segment position"},
    {14, 22, "NQM", "NIST quality metric"},
    {14, 23, "SQM", "segmentation quality metric"},
    {14, 24, "FQM", "finger quality metric"},
    {14, 25, "ASEG", "alternate finger segment position"},
    {14, 26, "SCF", "simultaneous capture"},
    {14, 27, "SIF", "stitched image flag"},
    {14, 30, "DMM", "device monitoring mode"},
    {14, 31, "FAP", "subject acquisition profile - fingerprint"},
    FRICTION_RIDGE(15, "palmprint capture date"),
    {15, 18, "AMP", "amputated or bandaged"},
    {15, 24, "PQM", "palm quality metric"},
    {16, 1, "LEN", "record length"},
    {16, 2, "IDC", "information designation character"},
    {16, 3, "UDI", "user-defined image"},
    {16, 4, "SRC", "source agency"},
    {16, 5, "UTD", "user-defined testing date"},
    {16, 6, "HLL", "horizontal line length"},
    {16, 7, "VLL", "vertical line length"},
    {16, 8, "SLC", "scale units"},
    {16, 9, "THPS", "transmitted horizontal pixel scale"},
    {16, 10, "TVPS", "transmitted vertical pixel scale"},
    {16, 11, "CGA", "compression algorithm"},
    {16, 12, "BPX", "bits per pixel"},
    {16, 13, "CSP", "color space"},
    {16, 999, "DATA", "image data"},
    {17, 1, "LEN", "record length"},
    {17, 2, "IDC", "information designation character"},
    {17, 3, "ELR", "eye label"},
    {17, 4, "SRC", "source agency"},
    {17, 5, "ICD", "iris capture date"},
    {17, 6, "HLL", "horizontal line length"},
    {17, 7, "VLL", "vertical line length"},
    {17, 8, "SLC", "scale units"},
    {17, 9, "THPS", "transmitted horizontal pixel scale"},
    {17, 10, "TVPS", "transmitted vertical pixel scale"},
    {17, 11, "CGA", "compression algorithm"},
    {17, 12, "BPX", "bits per pixel"},
    {17, 13, "CSP", "color space"},
    {17, 14, "RAE", "rotation angle of eye"},
    {17, 15, "RAU", "rotation uncertainty"},
    {17, 16, "IPC", "image property code"},
    {17, 17, "DUI", "device unique identifier"},
    {17, 19, "MMS", "make/model/serial number"},
    {17, 20, "ECL", "eye color"},
    {17, 21, "COM", "comment"},
    {17, 22, "SHPS", "scanned horizontal pixel scale"},
    {17, 23, "SVPS", "scanned vertical pixel scale"},
    {17, 24, "IQS", "image quality score"},
    {17, 25, "EAS", "effective acquisition spectrum"},
    {17, 26, "IRD", "iris diameter"},
    {17, 27, "SSV", "specified spectrum values"},
    {17, 28, "DME", "damaged or missing eye"},
    {17, 30, "DMM", "device monitoring mode"},
    {17, 31, "IAP", "subject acquisition profile - iris"},
    {17, 32, "ISF", "iris storage format"},
    {17, 33, "IPB", "iris pupil boundary"},
    {17, 34, "ISB", "iris sclera boundary"},
    {17, 35, "UEB", "upper eyelid boundary"},
    {17, 36, "LEB", "lower eyelid boundary"},
    {17, 37, "NEO", "non-eyelid occlusions"},
    {17, 40, "RAN", "range"},
    {17, 41, "GAZ", "frontal gaze"},
    {17, 999, "DATA", "image data"},
};

static const field_name *lookup(unsigned type, unsigned number)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].type == type && names[i].number == number)
            return &names[i];
    return NULL;
}

const char *huella_an2k_field_mnemonic(unsigned record_type, unsigned number)
{
    const field_name *f = lookup(record_type, number);
    return f ? f->mnemonic : NULL;
}

const char *huella_an2k_field_name(unsigned record_type, unsigned number)
{
    const field_name *f = lookup(record_type, number);
    return f ? f->name : NULL;
}

const char *huella_an2k_record_name(unsigned type)
{
    switch (type) {
    case 1:
        return "transaction information";
    case 2:
        return "user-defined descriptive text";
    case 3:
        return "low-resolution greyscale fingerprint (deprecated)";
    case 4:
        return "high-resolution greyscale fingerprint";
    case 5:
        return "low-resolution binary fingerprint (deprecated)";
    case 6:
        return "high-resolution binary fingerprint (deprecated)";
    case 7:
        return "user-defined image";
    case 8:
        return "signature image";
    case 9:
        return "minutiae data";
    case 10:
        return "face, other body part or scar, mark, tattoo image";
    case 11:
        return "forensic and investigatory voice data";
    case 12:
        return "forensic dental and oral data";
    case 13:
        return "variable-resolution latent friction ridge image";
    case 14:
        return "variable-resolution fingerprint image";
    case 15:
        return "variable-resolution palmprint image";
    case 16:
        return "user-defined variable-resolution testing image";
    case 17:
        return "iris image";
    case 18:
        return "DNA data";
    case 19:
        return "variable-resolution plantar image";
    case 20:
        return "source representation";
    case 21:
        return "associated context";
    case 22:
        return "non-photographic imagery";
    case 98:
        return "information assurance";
    case 99:
        return "CBEFF biometric data";
    default:
        return "unknown record type";
    }
}
